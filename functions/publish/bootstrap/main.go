// Command bootstrap is the PublishFunction's Lambda entry point: it reads
// the configuration once, at init, and serves the Pusher HTTP API (publish,
// channel queries, terminate_connections) behind API Gateway's HTTP API (payload format 2.0).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/publish"
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
		log.Error("publish: configuration", "error", err)
		os.Exit(1)
	}
	h, err := publish.FromEnv(ctx, env, publish.Deps{Logger: log})
	if err != nil {
		log.Error("publish: configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(httpapi.Handler(h))
}
