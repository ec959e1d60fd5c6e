// Command bootstrap is the StreamFunction's Lambda entry point: it builds
// the handler once per cold start and serves DynamoDB stream events with it.
package main

import (
	"context"
	"log/slog"

	"github.com/heraldrt/herald/functions/stream"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/lambdamain"
)

func main() {
	lambdamain.Start("stream", func(ctx context.Context, env config.Lookup, log *slog.Logger) (any, error) {
		h, err := stream.FromEnv(ctx, env, stream.Deps{Logger: log})
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	})
}
