package auth

import (
	"net/http"
	"slices"
)

// cors answers browsers from the configured origins. API Gateway's HTTP API
// handles preflights when its CORS settings are on; the function still
// answers them so it works behind any front (the local server, a Function
// URL) and sets the headers on every real answer.
type cors struct {
	origins []string
	any     bool
}

func newCORS(origins []string) cors {
	return cors{origins: origins, any: slices.Contains(origins, "*")}
}

func (c cors) allowed(origin string) bool {
	return origin != "" && (c.any || slices.Contains(c.origins, origin))
}

// headers sets Access-Control-Allow-Origin for an allowed Origin, and Vary
// so caches keep answers for different origins apart.
func (c cors) headers(w http.ResponseWriter, r *http.Request) {
	if len(c.origins) == 0 {
		return
	}
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !c.allowed(origin) {
		return
	}
	if c.any {
		w.Header().Set("Access-Control-Allow-Origin", "*")
	} else {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
}

// preflight answers OPTIONS. A disallowed origin gets no Allow-* headers
// and the browser stops there.
func (c cors) preflight(w http.ResponseWriter, r *http.Request) {
	if c.allowed(r.Header.Get("Origin")) {
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Requested-With, X-Socket-ID, X-CSRF-TOKEN")
		w.Header().Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}
