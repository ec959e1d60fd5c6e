// Command bootstrap is the QueueFunction's Lambda entry point: it reads the
// configuration once, at init, and serves SQS events with queue.Handler.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/logging"
)

func main() {
	h := logging.Init("queue", func(ctx context.Context, env config.Lookup, log *slog.Logger) (*queue.Handler, error) {
		return queue.FromEnv(ctx, env, queue.Deps{Logger: log})
	})
	lambda.Start(h) // h.Invoke: only each record's messageId and body are decoded
}
