// Command bootstrap is the PublishFunction's Lambda entry point: it builds
// the handler once per cold start and serves the Pusher HTTP API (publish,
// channel queries, terminate_connections) behind API Gateway's HTTP API.
package main

import (
	"context"
	"log/slog"

	"github.com/heraldrt/herald/functions/publish"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/lambdamain"
)

func main() {
	lambdamain.Start("publish", func(ctx context.Context, env config.Lookup, log *slog.Logger) (any, error) {
		h, err := publish.FromEnv(ctx, env, publish.Deps{Logger: log})
		return httpapi.Handler(h), err
	})
}
