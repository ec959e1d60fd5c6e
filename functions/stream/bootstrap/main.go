// Command bootstrap is the StreamFunction's Lambda entry point: it reads
// the configuration once, at init, and serves DynamoDB stream events with
// stream.Handler.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/stream"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/logging"
)

func main() {
	log := logging.New()
	ctx := context.Background()
	env, err := config.Load(ctx)
	if err != nil {
		// An init failure: Lambda reports it and retries the cold start.
		log.Error("stream: configuration", "error", err)
		os.Exit(1)
	}
	h, err := stream.FromEnv(ctx, env, stream.Deps{Logger: log})
	if err != nil {
		log.Error("stream: configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
