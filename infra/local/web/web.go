package web

import "embed"

// Files are index.html, app.js and style.css.
//
//go:embed index.html app.js style.css metrics.html
var Files embed.FS
