// Command bootstrap is the AuthFunction's Lambda entry point: it loads the
// configuration (environment plus the provider secret) and builds the
// handler once per cold start, then serves HTTP API events with it.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/logging"
)

func main() {
	log := logging.New()
	ctx := context.Background()
	env, err := config.Load(ctx)
	if err != nil {
		// An init failure: Lambda reports it and retries the cold start.
		log.Error("auth: configuration", "error", err)
		os.Exit(1)
	}
	h, err := auth.FromEnv(ctx, env, auth.Deps{Logger: log})
	if err != nil {
		log.Error("auth: configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(httpapi.Handler(h))
}
