// Command bootstrap is the AuthFunction's Lambda entry point: it builds the
// handler once per cold start and serves HTTP API events with it.
package main

import (
	"context"
	"log/slog"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/lambdamain"
)

func main() {
	lambdamain.Start("auth", func(ctx context.Context, env config.Lookup, log *slog.Logger) (any, error) {
		h, err := auth.FromEnv(ctx, env, auth.Deps{Logger: log})
		return httpapi.Handler(h), err
	})
}
