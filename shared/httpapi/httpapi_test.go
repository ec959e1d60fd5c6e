package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/shared/httpapi"
)

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seen is what a handler observed of its request.
type seen struct {
	Method, Path, RawPath, RequestURI, Host, RemoteAddr, Proto string
	Query                                                      map[string][]string
	Cookies                                                    map[string]string
	Header                                                     http.Header
	Body                                                       []byte
	ContentLength                                              int64
	Claims                                                     map[string]string
	ClaimsOK                                                   bool
	RequestID                                                  string
}

func recordingHandler(got *seen, answer func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Method, got.Path, got.RawPath, got.RequestURI = r.Method, r.URL.Path, r.URL.RawPath, r.RequestURI
		got.Host, got.RemoteAddr, got.Proto = r.Host, r.RemoteAddr, r.Proto
		got.Query = r.URL.Query()
		got.Cookies = map[string]string{}
		for _, c := range r.Cookies() {
			got.Cookies[c.Name] = c.Value
		}
		got.Header = r.Header.Clone()
		got.Body, _ = io.ReadAll(r.Body)
		got.ContentLength = r.ContentLength
		got.Claims, got.ClaimsOK = httpapi.Claims(r.Context())
		if rc, ok := httpapi.RequestContext(r.Context()); ok {
			got.RequestID = rc.RequestID
		}
		answer(w)
	})
}

// TestInvokeSampleEvent drives a payload 2.0 event through the same JSON path
// the Lambda runtime uses and checks every part of the request the handler
// sees and of the response API Gateway gets.
func TestInvokeSampleEvent(t *testing.T) {
	var got seen
	h := recordingHandler(&got, func(w http.ResponseWriter) {
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		w.Header().Add("Set-Cookie", "b=2; Path=/")
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Accept")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"ok":true}`))
	})
	out, err := lambda.NewHandler(httpapi.Handler(h)).Invoke(context.Background(), readEvent(t, "stage-cookies-base64.json"))
	if err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"method", got.Method, "POST"},
		{"path (stage stripped, decoded)", got.Path, "/items/a/b"},
		{"raw path keeps the escape", got.RawPath, "/items/a%2Fb"},
		{"request URI", got.RequestURI, "/items/a%2Fb?tag=x&tag=y&q=hello%20world"},
		{"host", got.Host, "api.example.test"},
		{"remote addr", got.RemoteAddr, "203.0.113.7"},
		{"proto", got.Proto, "HTTP/1.1"},
		{"repeated query values", got.Query["tag"], []string{"x", "y"}},
		{"escaped query value", got.Query["q"], []string{"hello world"}},
		{"cookies", got.Cookies, map[string]string{"session": "abc", "theme": "dark"}},
		{"comma-joined header", got.Header.Get("X-Forwarded-For"), "203.0.113.7, 198.51.100.2"},
		{"authorization header", got.Header.Get("Authorization"), "Bearer not-checked-here"},
		{"binary body", got.Body, []byte{0, 0xff, 1, 2, 3}},
		{"content length", got.ContentLength, int64(5)},
		{"claims present", got.ClaimsOK, true},
		{"claims", got.Claims, map[string]string{"sub": "42", "name": "Alice", "email_verified": "true"}},
		{"request id", got.RequestID, "Jq3bLhx1DoEEMtQ="},
	}
	for _, c := range checks {
		if !equalJSON(t, c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}

	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || resp.Body != `{"ok":true}` || resp.IsBase64Encoded {
		t.Errorf("response = %d %q base64=%v", resp.StatusCode, resp.Body, resp.IsBase64Encoded)
	}
	if !equalJSON(t, resp.Cookies, []string{"a=1; Path=/", "b=2; Path=/"}) {
		t.Errorf("cookies = %q", resp.Cookies)
	}
	if resp.Headers["Vary"] != "Origin, Accept" || resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("headers = %q", resp.Headers)
	}
	if _, ok := resp.Headers["Set-Cookie"]; ok {
		t.Error("Set-Cookie must travel as cookies, not as a header")
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(ja, jb)
}

func TestRequestVariants(t *testing.T) {
	base := func() events.APIGatewayV2HTTPRequest {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(readEvent(t, "stage-cookies-base64.json"), &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	tests := []struct {
		name     string
		edit     func(*events.APIGatewayV2HTTPRequest)
		wantPath string
		wantBody string
		wantErr  bool
	}{
		{"default stage keeps the whole path", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RequestContext.Stage = "$default"
			ev.RawPath = "/prod/items/1"
		}, "/prod/items/1", "\x00\xff\x01\x02\x03", false},
		{"stage name only as a prefix of a segment is kept", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RawPath = "/production/x"
		}, "/production/x", "\x00\xff\x01\x02\x03", false},
		{"bare stage path is the root", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RawPath = "/prod"
		}, "/", "\x00\xff\x01\x02\x03", false},
		{"plain body", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.IsBase64Encoded = false
			ev.Body = "socket_id=1.2&channel_name=private-a"
		}, "/items/a/b", "socket_id=1.2&channel_name=private-a", false},
		{"empty body", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.IsBase64Encoded = false
			ev.Body = ""
		}, "/items/a/b", "", false},
		{"broken base64", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body = "%%%"
		}, "", "", true},
		{"no method", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RequestContext.HTTP.Method = ""
		}, "", "", true},
		{"raw path missing falls back to http.path", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RawPath = ""
			ev.RequestContext.HTTP.Path = "/prod/other"
		}, "/other", "\x00\xff\x01\x02\x03", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := base()
			tt.edit(&ev)
			r, err := httpapi.Request(context.Background(), ev)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got request for %s", r.URL)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.URL.Path != tt.wantPath {
				t.Errorf("path = %q, want %q", r.URL.Path, tt.wantPath)
			}
			b, _ := io.ReadAll(r.Body)
			if string(b) != tt.wantBody {
				t.Errorf("body = %q, want %q", b, tt.wantBody)
			}
		})
	}
}

func TestHandlerAnswersBadEventWith400(t *testing.T) {
	called := false
	h := httpapi.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	resp, err := h(context.Background(), events.APIGatewayV2HTTPRequest{
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
		RawPath:        "/x", Body: "!!", IsBase64Encoded: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || called {
		t.Errorf("status %d, handler called %v", resp.StatusCode, called)
	}
}

func TestResponse(t *testing.T) {
	tests := []struct {
		name       string
		write      func(w http.ResponseWriter)
		wantStatus int
		wantBody   string
		wantB64    bool
		wantType   string
	}{
		{"nothing written is 200 with no body", func(http.ResponseWriter) {}, 200, "", false, ""},
		{"status without body", func(w http.ResponseWriter) { w.WriteHeader(204) }, 204, "", false, ""},
		{"second WriteHeader ignored", func(w http.ResponseWriter) { w.WriteHeader(403); w.WriteHeader(200) }, 403, "", false, ""},
		{"text body sniffed", func(w http.ResponseWriter) { io.WriteString(w, "hello") }, 200, "hello", false, "text/plain; charset=utf-8"},
		{"binary body base64", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte{0x89, 'P', 'N', 'G', 0xff})
		}, 200, base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0xff}), true, "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httpapi.NewResponseWriter()
			tt.write(w)
			resp := w.Response()
			if resp.StatusCode != tt.wantStatus || resp.Body != tt.wantBody || resp.IsBase64Encoded != tt.wantB64 || resp.Headers["Content-Type"] != tt.wantType {
				t.Errorf("got %d %q base64=%v type=%q", resp.StatusCode, resp.Body, resp.IsBase64Encoded, resp.Headers["Content-Type"])
			}
		})
	}
}

func TestClaims(t *testing.T) {
	if _, ok := httpapi.Claims(context.Background()); ok {
		t.Error("a plain context has no claims")
	}
	ev := events.APIGatewayV2HTTPRequest{
		RawPath:        "/x",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}},
	}
	r, err := httpapi.Request(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := httpapi.Claims(r.Context()); ok {
		t.Error("an event without a JWT authorizer has no claims")
	}
	if _, ok := httpapi.RequestContext(r.Context()); !ok {
		t.Error("an event's request carries its request context")
	}
	ctx := httpapi.WithClaims(r.Context(), map[string]string{"sub": "7"})
	c, ok := httpapi.Claims(ctx)
	if !ok || c["sub"] != "7" {
		t.Errorf("WithClaims: %v %v", c, ok)
	}
	if _, ok := httpapi.Claims(r.Context()); ok {
		t.Error("WithClaims must not modify the original event")
	}
}
