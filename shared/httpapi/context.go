package httpapi

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

type eventKey struct{}

// Event returns the HTTP API event a request was built from, if it was.
// Handlers must not modify it.
func Event(ctx context.Context) (*events.APIGatewayV2HTTPRequest, bool) {
	ev, ok := ctx.Value(eventKey{}).(*events.APIGatewayV2HTTPRequest)
	return ev, ok
}

// RequestContext returns the event's requestContext (request id, stage,
// source IP, authorizer), if the request came from an HTTP API event.
func RequestContext(ctx context.Context) (events.APIGatewayV2HTTPRequestContext, bool) {
	ev, ok := Event(ctx)
	if !ok {
		return events.APIGatewayV2HTTPRequestContext{}, false
	}
	return ev.RequestContext, true
}

// Claims returns the claims of the token API Gateway's JWT authorizer
// verified for this request (requestContext.authorizer.jwt.claims). ok is
// false when the request did not come through a JWT authorizer: a request
// built by hand, a route without one, or another authorizer type.
//
// API Gateway flattens every claim to a string: numbers and booleans appear
// as their JSON text, arrays as "[a b c]". Only API Gateway (or whoever may
// invoke the function directly) can put claims here, which is why a handler
// may trust them.
func Claims(ctx context.Context) (map[string]string, bool) {
	ev, ok := Event(ctx)
	if !ok || ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.JWT == nil {
		return nil, false
	}
	return ev.RequestContext.Authorizer.JWT.Claims, true
}

// WithClaims returns a context carrying claims as if a JWT authorizer had
// verified them, for tests of handlers that read Claims and for local
// servers that run a handler without API Gateway in front.
func WithClaims(ctx context.Context, claims map[string]string) context.Context {
	ev := &events.APIGatewayV2HTTPRequest{}
	if prev, ok := Event(ctx); ok {
		cp := *prev
		ev = &cp
	}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
	}
	return context.WithValue(ctx, eventKey{}, ev)
}
