// Command bootstrap is the StreamFunction's Lambda entry point: it reads
// the configuration once, at init, and serves DynamoDB stream events with
// stream.Handler.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/stream"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/logging"
)

func main() {
	h := logging.Init("stream", func(ctx context.Context, env config.Lookup, log *slog.Logger) (*stream.Handler, error) {
		return stream.FromEnv(ctx, env, stream.Deps{Logger: log})
	})
	lambda.Start(h.Handle)
}
