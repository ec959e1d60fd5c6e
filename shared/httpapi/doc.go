// Package httpapi adapts API Gateway HTTP API events (payload format 2.0) to
// net/http handlers and back, so a function's HTTP logic is an ordinary
// http.Handler, tested with httptest, and the Lambda wiring is one line:
//
//	lambda.Start(httpapi.Handler(h))
//
// The request a handler sees carries the method, the raw path (without a
// named stage's prefix), the raw query string, headers, cookies, the decoded
// body and the caller's source IP. Its context carries the event's request
// context, and with it the claims API Gateway's JWT authorizer verified
// (Claims).
//
// It is not a router and not a framework: no middleware, no streaming
// responses (HTTP APIs buffer the whole answer anyway), no REST API (payload
// 1.0) events.
package httpapi
