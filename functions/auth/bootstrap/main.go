// Command bootstrap is the AuthFunction's Lambda entry point: it loads the
// configuration, builds the handler once per cold start and serves HTTP API
// events with it.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/shared/httpapi"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	ctx := context.Background()
	// TODO: read through shared/config's Load (environment plus the
	// provider secret) once it exists.
	cfg, err := auth.LoadConfig(os.LookupEnv)
	if err != nil {
		log.Error("auth: configuration", "error", err)
		os.Exit(1)
	}
	h, err := auth.New(ctx, cfg, log)
	if err != nil {
		log.Error("auth: start-up", "error", err)
		os.Exit(1)
	}
	lambda.Start(httpapi.Handler(h))
}
