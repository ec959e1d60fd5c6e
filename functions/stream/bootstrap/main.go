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
	env, err := config.Load(context.Background())
	if err == nil {
		var h *stream.Handler
		if h, err = stream.FromEnv(env, stream.Deps{Logger: log}); err == nil {
			lambda.Start(h.Handle)
			return
		}
	}
	// An init failure: Lambda reports it and retries the cold start.
	log.Error("stream: configuration", "error", err)
	os.Exit(1)
}
