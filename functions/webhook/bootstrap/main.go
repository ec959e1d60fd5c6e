// Command bootstrap is the WebhookFunction's Lambda entry point: it builds
// the handler once per cold start and serves the provider webhooks
// (POST /webhooks/pusher, /webhooks/ably) behind the HTTP API.
package main

import (
	"context"
	"log/slog"

	"github.com/heraldrt/herald/functions/webhook"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/lambdamain"
)

func main() {
	lambdamain.Start("webhook", func(ctx context.Context, env config.Lookup, log *slog.Logger) (any, error) {
		h, err := webhook.FromEnv(ctx, env, webhook.Deps{Logger: log})
		return httpapi.Handler(h), err
	})
}
