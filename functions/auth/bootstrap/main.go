// Command bootstrap is the AuthFunction's Lambda entry point: it loads the
// configuration (environment plus the provider secret) and builds the
// handler once per cold start, then serves HTTP API events with it.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/logging"
)

func main() {
	log := logging.New()
	h, err := setup(context.Background(), log)
	if err != nil {
		// An init failure: Lambda reports it and retries the cold start.
		log.Error("auth: configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(httpapi.Handler(h))
}

func setup(ctx context.Context, log *slog.Logger) (*auth.Handler, error) {
	env, err := config.Load(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := auth.LoadConfig(env)
	if err != nil {
		return nil, err
	}
	return auth.New(ctx, cfg, log)
}
