// Package web holds the local demo page: plain HTML, CSS and JavaScript,
// embedded into the local stack's binary so `make dev` serves it without a
// build step. pusher-js itself is not embedded; the stack serves it from the
// locked npm package under infra/node.
package web

import "embed"

// Files are index.html, app.js and style.css.
//
//go:embed index.html app.js style.css
var Files embed.FS
