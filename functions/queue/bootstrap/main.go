// Command bootstrap is the QueueFunction's Lambda entry point: it reads the
// configuration once, at init, and serves SQS events with queue.Handler.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/logging"
)

func main() {
	log := logging.New()
	ctx := context.Background()
	env, err := config.Load(ctx)
	if err != nil {
		// An init failure: Lambda reports it and retries the cold start.
		log.Error("queue: configuration", "error", err)
		os.Exit(1)
	}
	h, err := queue.FromEnv(ctx, env, queue.Deps{Logger: log})
	if err != nil {
		log.Error("queue: configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(h) // h.Invoke: only each record's messageId and body are decoded
}
