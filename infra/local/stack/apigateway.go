package stack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/heraldrt/herald/infra/moto"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// MaxPayloadBytes is API Gateway HTTP API's request payload limit.
const MaxPayloadBytes = 10 << 20

// apiGateway serves an HTTP function the way the deployed HTTP API does:
// the request becomes a payload format 2.0 event, the function's Lambda
// handler (httpapi.Handler around its http.Handler) gets it as JSON, and its
// JSON response becomes the HTTP answer. So locally the function goes
// through the same adapter and the same encoding it goes through in AWS.
type apiGateway struct {
	name     string // the function's logical id, for errors
	routeKey string // "POST /broadcasting/auth"
	params   []string
	invoke   lambda.Handler
	log      *slog.Logger
}

func newAPIGateway(name, routeKey string, h lambda.Handler, log *slog.Logger) http.Handler {
	g := &apiGateway{name: name, routeKey: routeKey, invoke: h, log: log}
	for _, seg := range strings.Split(routeKey, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			g.params = append(g.params, strings.Trim(seg, "{}"))
		}
	}
	return g
}

func (g *apiGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
	if err != nil {
		// API Gateway's own answer to an oversize payload.
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "Request Entity Too Large"})
		return
	}
	payload, err := json.Marshal(g.event(r, body))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second) // the HTTP API's integration timeout
	defer cancel()
	out, err := invoke(ctx, g.invoke, payload)
	var resp events.APIGatewayV2HTTPResponse
	if err == nil {
		err = json.Unmarshal(out, &resp)
	}
	if err != nil {
		g.log.Error("function failed", "function", g.name, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	b := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			g.log.Error("function answered a body marked base64 that does not decode", "function", g.name)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
			return
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(b)
}

// event is the HTTP API payload 2.0 event API Gateway would send for r.
func (g *apiGateway) event(r *http.Request, body []byte) events.APIGatewayV2HTTPRequest {
	now := time.Now()
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       g.routeKey,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     g.routeKey,
			AccountID:    moto.AccountID,
			Stage:        "$default",
			RequestID:    fmt.Sprintf("local-%d", now.UnixNano()),
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  ip,
				UserAgent: r.UserAgent(),
			},
		},
	}
	// HTTP APIs lower-case header names, join repeated ones with commas
	// and move cookies to their own list.
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	ev.Headers["host"] = r.Host
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(g.params) > 0 {
		ev.PathParameters = make(map[string]string, len(g.params))
		for _, p := range g.params {
			ev.PathParameters[p] = r.PathValue(p)
		}
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}
