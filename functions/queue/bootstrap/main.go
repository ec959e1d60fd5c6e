// Command bootstrap is the QueueFunction's Lambda entry point: it builds the
// handler once per cold start and serves SQS events with it.
package main

import (
	"context"
	"log/slog"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/lambdamain"
)

func main() {
	lambdamain.Start("queue", func(ctx context.Context, env config.Lookup, log *slog.Logger) (any, error) {
		// The handler's Invoke decodes only what every invocation reads of each
		// record (messageId, body, SentTimestamp); see queue.Event.
		return queue.FromEnv(ctx, env, queue.Deps{Logger: log})
	})
}
