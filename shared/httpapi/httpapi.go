package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Handler returns a Lambda handler for HTTP API payload 2.0 events that
// serves each one with h. A request that cannot be turned into an
// http.Request (a body that is not valid base64, a malformed path) is
// answered 400 without calling h; the Lambda invocation itself never fails
// for a bad request, so API Gateway never turns it into a 500.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				Body:       err.Error() + "\n",
			}, nil
		}
		w := NewResponseWriter()
		h.ServeHTTP(w, r)
		return w.Response(), nil
	}
}

// Request builds the http.Request an HTTP API event describes. Its context
// is ctx carrying the event (see Event, RequestContext and Claims).
//
// The path is rawPath as API Gateway received it, minus the stage prefix a
// named stage adds (routes never include it); "$default" stages have none.
// Headers keep API Gateway's comma-joined form of repeated headers: net/http
// treats "a, b" and two headers alike for every list-valued header.
// Cookies, which HTTP APIs move out of the headers, go back into one Cookie
// header.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("httpapi: event has no requestContext.http.method (not an HTTP API 2.0 event?)")
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	path = stripStage(path, ev.RequestContext.Stage)
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("httpapi: bad path or query: %w", err)
	}

	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("httpapi: body is marked base64 but does not decode: %w", err)
		}
	}

	r, err := http.NewRequestWithContext(context.WithValue(ctx, eventKey{}, &ev), method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	r.RequestURI = u.RequestURI()
	r.Proto = "HTTP/1.1"
	if p := ev.RequestContext.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = p, major, minor
		}
	}
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.URL.Host = r.Host
	// A port-less RemoteAddr is what net/http documents as "IP" form for
	// non-TCP transports; handlers read the IP from it either way.
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	return r, nil
}

// stripStage removes "/{stage}" from the front of a named stage's raw path;
// the path that was only the stage becomes "", which Request reads as "/".
func stripStage(path, stage string) string {
	if stage == "" || stage == "$default" {
		return path
	}
	if rest, ok := strings.CutPrefix(path, "/"+stage); ok && (rest == "" || rest[0] == '/') {
		return rest
	}
	return path
}

// ResponseWriter is an http.ResponseWriter that buffers the answer for an
// HTTP API response.
type ResponseWriter struct {
	header http.Header
	status int // 0 until WriteHeader
	body   bytes.Buffer
}

var _ http.ResponseWriter = (*ResponseWriter)(nil)

// NewResponseWriter returns an empty ResponseWriter.
func NewResponseWriter() *ResponseWriter {
	return &ResponseWriter{header: make(http.Header)}
}

// Header implements http.ResponseWriter.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; only the first call counts,
// as with net/http.
func (w *ResponseWriter) WriteHeader(status int) {
	w.status = cmp.Or(w.status, status)
}

// Write implements http.ResponseWriter.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Response returns the HTTP API response for what was written. Set-Cookie
// headers become the response's cookies; other repeated headers are joined
// with ", " as payload 2.0 expects. A body that is not valid UTF-8 is sent
// base64-encoded.
func (w *ResponseWriter) Response() events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: cmp.Or(w.status, http.StatusOK), Headers: make(map[string]string, len(w.header))}
	body := w.body.Bytes()
	if len(body) > 0 && w.header.Get("Content-Type") == "" {
		w.header.Set("Content-Type", http.DetectContentType(body))
	}
	for k, vs := range w.header {
		if len(vs) == 0 {
			continue
		}
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if utf8.Valid(body) {
		resp.Body = string(body)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}
