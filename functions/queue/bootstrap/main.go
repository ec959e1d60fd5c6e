// Command bootstrap is the QueueFunction's Lambda entry point: it reads the
// configuration once, at init, and serves SQS events with queue.Handler.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/logging"
)

func main() {
	log := logging.New()
	h, err := setup(context.Background(), log)
	if err != nil {
		// An init failure: Lambda reports it and retries the cold start.
		log.Error("queue: configuration", "error", err)
		os.Exit(1)
	}
	h.Logger = log
	lambda.Start(h.Handle)
}

func setup(ctx context.Context, log *slog.Logger) (*queue.Handler, error) {
	env, err := config.Load(ctx)
	if err != nil {
		return nil, err
	}
	bc, err := broadcast.LoadConfig(env)
	if err != nil {
		return nil, err
	}
	driver, err := broadcast.New(bc, nil)
	if err != nil {
		return nil, err
	}
	// Retries always; exactly-once when IDEMPOTENCY_TABLE is set.
	guarded, err := delivery.GuardFromEnv(driver, env, log)
	if err != nil {
		return nil, err
	}
	h := &queue.Handler{Driver: guarded}
	if url, _ := env("BROADCAST_DLQ_URL"); url != "" {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("BROADCAST_DLQ_URL: loading AWS configuration: %w", err)
		}
		dl, err := deadletter.New(sqs.NewFromConfig(awsCfg), deadletter.Config{QueueURL: url})
		if err != nil {
			return nil, err
		}
		h.DeadLetters = dl
	}
	return h, nil
}
