package stack

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hostedPusher are real-looking credentials of a hosted Pusher app: the
// stack must then not keep its public local secrets.
var hostedPusher = map[string]string{"PUSHER_APP_ID": "1", "PUSHER_APP_KEY": "hosted-key", "PUSHER_APP_SECRET": "hosted-secret", "PUSHER_APP_CLUSTER": "eu"}

// TestRealCredentialsGetSecretsOfTheirOwn: with provider credentials from
// the environment, the JWT and publish secrets are not the public local
// ones but random ones for the run, printed once by the banner; values set
// in the environment are kept and not printed.
func TestRealCredentialsGetSecretsOfTheirOwn(t *testing.T) {
	st := start(t, hostedPusher)
	jwt, publish := st.Env("AUTH_JWT_SECRET"), st.Env("PUBLISH_APP_SECRET")
	if jwt == localJWTSecret || publish == localAppSecret || len(jwt) < 32 || len(publish) < 32 {
		t.Fatalf("AUTH_JWT_SECRET %q, PUBLISH_APP_SECRET %q: want random secrets of at least 32 bytes, not the local ones", jwt, publish)
	}
	var b bytes.Buffer
	st.printBanner(&b)
	for _, v := range []string{jwt, publish} {
		if n := strings.Count(b.String(), v); n != 1 {
			t.Errorf("the banner prints a generated secret %d times, want once:\n%s", n, b.String())
		}
	}
	// A token signed with the public local secret opens nothing.
	if status, body := authorize(t, st, forged(t, localJWTSecret), "private-App.Models.User.42"); status != http.StatusUnauthorized {
		t.Errorf("a token signed with the public local secret: %d %s, want 401", status, body)
	}

	vars := map[string]string{"AUTH_JWT_SECRET": "jwt-secret-from-the-environment-0123456789", "PUBLISH_APP_SECRET": "publish-secret-from-the-environment"}
	for k, v := range hostedPusher {
		vars[k] = v
	}
	own := start(t, vars)
	b.Reset()
	own.printBanner(&b)
	for k, v := range vars {
		if k == "AUTH_JWT_SECRET" || k == "PUBLISH_APP_SECRET" {
			if got := own.Env(k); got != v {
				t.Errorf("%s = %q, want the environment's", k, got)
			}
			if strings.Contains(b.String(), v) {
				t.Errorf("the banner prints %s from the environment", k)
			}
		}
	}
}

// TestLocalCORS: the auth function answers browsers from the stack's own
// origin only, not from any page the developer happens to visit.
func TestLocalCORS(t *testing.T) {
	st := start(t, nil)
	for origin, want := range map[string]string{
		"https://evil.example": "",
		st.URLs().HTTP:         st.URLs().HTTP,
	} {
		req := mustRequest(t, http.MethodOptions, st.URLs().HTTP+"/broadcasting/auth", strings.NewReader(""))
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin %q, want %q", origin, got, want)
		}
	}
}

// TestLoopbackHostOnly: a name that resolves to 127.0.0.1 by DNS
// rebinding reaches the stack's port but not its routes.
func TestLoopbackHostOnly(t *testing.T) {
	st := start(t, nil)
	base := st.URLs().HTTP
	_, port, _ := strings.Cut(strings.TrimPrefix(base, "http://"), ":")
	for _, tc := range []struct {
		host string
		want int
	}{
		{"evil.example:" + port, http.StatusMisdirectedRequest},
		{"evil.example", http.StatusMisdirectedRequest},
		{"192.168.1.10:" + port, http.StatusMisdirectedRequest},
		{"127.0.0.1:" + port, http.StatusOK},
		{"localhost:" + port, http.StatusOK},
		{"[::1]:" + port, http.StatusOK},
	} {
		for _, path := range []string{"/dev/token?sub=42", "/dev/config"} {
			req := mustRequest(t, http.MethodGet, base+path, strings.NewReader(""))
			req.Host = tc.host
			if status, body := do(t, req); status != tc.want {
				t.Errorf("GET %s with Host %s: %d %s, want %d", path, tc.host, status, body, tc.want)
			}
		}
		form := url.Values{"socket_id": {"1234.5678"}, "channel_name": {"private-App.Models.User.42"}}
		req := mustRequest(t, http.MethodPost, base+"/broadcasting/auth", strings.NewReader(form.Encode()))
		req.Host = tc.host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+devToken(t, st, "42", "Alice"))
		if status, body := do(t, req); (status == http.StatusMisdirectedRequest) != (tc.want == http.StatusMisdirectedRequest) {
			t.Errorf("POST /broadcasting/auth with Host %s: %d %s", tc.host, status, body)
		}
	}
}

// TestDevWritesSameOriginJSON: a page on another site can send a "simple"
// cross-site POST (text/plain, no preflight); the /dev writes refuse it,
// and anything not JSON from the page's own origin.
func TestDevWritesSameOriginJSON(t *testing.T) {
	st := start(t, nil)
	base := st.URLs().HTTP
	const email = `{"to":"42","subject":"hello"}`
	for _, tc := range []struct {
		name, method, path, contentType, origin string
		want                                    int
	}{
		{"cross-site text/plain", http.MethodPost, "/dev/send-email", "text/plain", "https://evil.example", http.StatusUnsupportedMediaType},
		{"cross-site JSON", http.MethodPost, "/dev/send-email", "application/json", "https://evil.example", http.StatusForbidden},
		{"same-origin text/plain", http.MethodPost, "/dev/send-email", "text/plain;charset=UTF-8", base, http.StatusUnsupportedMediaType},
		{"no Origin", http.MethodPost, "/dev/send-email", "application/json", "", http.StatusForbidden},
		{"null Origin", http.MethodPost, "/dev/users", "application/json", "null", http.StatusForbidden},
		{"cross-site delete", http.MethodDelete, "/dev/users/43", "application/json", "https://evil.example", http.StatusForbidden},
		{"same-origin JSON", http.MethodPost, "/dev/send-email", "application/json; charset=utf-8", base, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := mustRequest(t, tc.method, base+tc.path, strings.NewReader(email))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if status, body := do(t, req); status != tc.want {
				t.Errorf("%d %s, want %d", status, body, tc.want)
			}
		})
	}
}

func authorize(t *testing.T, st *Stack, tok, channel string) (int, []byte) {
	t.Helper()
	form := url.Values{"socket_id": {"1234.5678"}, "channel_name": {channel}}
	req := mustRequest(t, http.MethodPost, st.URLs().HTTP+"/broadcasting/auth", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok)
	return do(t, req)
}
