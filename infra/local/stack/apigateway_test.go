package stack

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldrt/herald/shared/httpapi"
)

func TestAPIGatewayEvent(t *testing.T) {
	g := newAPIGateway("PublishFunction", "POST /apps/{app_id}/events", newSharedHandler(httpapi.Handler(http.NotFoundHandler())), slog.New(slog.DiscardHandler)).(*apiGateway)
	mux := http.NewServeMux()
	var got *http.Request
	mux.HandleFunc(g.routeKey, func(w http.ResponseWriter, r *http.Request) { got = r })

	binary := []byte{0xff, 0xfe, 0x00}
	for _, tc := range []struct {
		name   string
		body   []byte
		b64    bool
		header http.Header
	}{
		{"text body", []byte(`{"name":"x"}`), false, http.Header{"X-Many": {"a", "b"}, "Cookie": {"a=1; b=2"}}},
		{"binary body", binary, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/apps/42/events?auth_key=k&x=1&x=2", strings.NewReader(string(tc.body)))
			for k, v := range tc.header {
				r.Header[k] = v
			}
			mux.ServeHTTP(httptest.NewRecorder(), r)
			ev := g.event(got, tc.body)
			if ev.Version != "2.0" || ev.RouteKey != g.routeKey || ev.RequestContext.HTTP.Method != "POST" || ev.RequestContext.Stage != "$default" {
				t.Errorf("event header fields: %+v", ev)
			}
			if ev.RawPath != "/apps/42/events" || ev.RawQueryString != "auth_key=k&x=1&x=2" || ev.PathParameters["app_id"] != "42" {
				t.Errorf("path %q, query %q, params %v", ev.RawPath, ev.RawQueryString, ev.PathParameters)
			}
			if ev.QueryStringParameters["x"] != "1,2" {
				t.Errorf("repeated query parameter = %q, want API Gateway's comma join", ev.QueryStringParameters["x"])
			}
			if ev.IsBase64Encoded != tc.b64 {
				t.Errorf("isBase64Encoded = %t", ev.IsBase64Encoded)
			}
			body := ev.Body
			if tc.b64 {
				b, _ := base64.StdEncoding.DecodeString(body)
				body = string(b)
			}
			if body != string(tc.body) {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if tc.header != nil {
				if ev.Headers["x-many"] != "a,b" || ev.Headers["cookie"] != "" || strings.Join(ev.Cookies, "|") != "a=1|b=2" {
					t.Errorf("headers %v, cookies %v: want lower-case names, joined values, cookies apart", ev.Headers, ev.Cookies)
				}
			}
		})
	}
}

// TestAPIGatewayRoutes checks answers that depend on the HTTP API front:
// CORS preflights for a page on another origin, Pusher's 413 for a body
// over the publish function's limit, a refused publish signature.
func TestAPIGatewayRoutes(t *testing.T) {
	st := start(t, map[string]string{"AUTH_CORS_ORIGINS": "http://localhost:8000"})
	base := st.URLs().HTTP

	req, _ := http.NewRequest(http.MethodOptions, base+"/broadcasting/auth", nil)
	req.Header.Set("Origin", "http://localhost:8000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || !strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d, headers %v", res.StatusCode, res.Header)
	}

	big := strings.NewReader(`{"name":"x","channel":"a","data":"` + strings.Repeat("a", 1<<20) + `"}`)
	status, body := do(t, mustRequest(t, http.MethodPost, base+"/apps/local/events", big))
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MB body: %d %s, want 413", status, body)
	}
	status, body = do(t, mustRequest(t, http.MethodPost, base+"/apps/local/events?auth_key=local-key&auth_timestamp=1&auth_version=1.0&auth_signature=00", strings.NewReader(`{}`)))
	if status != http.StatusUnauthorized {
		t.Errorf("unsigned publish: %d %s, want 401", status, body)
	}
}

func mustRequest(t *testing.T, method, url string, body *strings.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	return r
}
