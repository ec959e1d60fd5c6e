// Command bootstrap is the PublishFunction's Lambda entry point: it reads
// the configuration once, at init, and serves API Gateway HTTP API events
// with publish.Handler through httpapi.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/heraldrt/herald/functions/publish"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/logging"
)

func main() {
	log := logging.New()
	h, err := setup(context.Background(), log, publish.WithLogger(log))
	if err != nil {
		log.Error("publish: configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(httpapi.Handler(h))
}

func setup(ctx context.Context, log *slog.Logger, opts ...publish.Option) (*publish.Handler, error) {
	env, err := config.Load(ctx)
	if err != nil {
		return nil, err
	}
	get := func(k string) string { v, _ := env(k); return v }
	cfg := publish.Config{
		AppID:    get("PUBLISH_APP_ID"),
		Key:      get("PUBLISH_APP_KEY"),
		Secret:   get("PUBLISH_APP_SECRET"),
		Mode:     get("PUBLISH_MODE"),
		QueueURL: get("BROADCAST_QUEUE_URL"),
	}
	if cfg.Mode == "" {
		cfg.Mode = publish.ModeQueue
	}
	if cfg.Mode == publish.ModeDirect {
		bc, err := broadcast.LoadConfig(env)
		if err != nil {
			return nil, err
		}
		driver, err := broadcast.New(bc, nil)
		if err != nil {
			return nil, err
		}
		// Retries always; an event's id broadcast once when
		// IDEMPOTENCY_TABLE is set (events without an id get the request's).
		guarded, err := delivery.GuardFromEnv(driver, env, log)
		if err != nil {
			return nil, err
		}
		return publish.New(cfg, append(opts, publish.WithDriver(guarded))...)
	}
	// Queue mode needs no provider credentials (the queue function has
	// them), only the limits to validate against, so oversize events are
	// refused here rather than dead-lettered later.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("PUBLISH_MODE=queue: loading AWS configuration: %w", err)
	}
	opts = append(opts, publish.WithQueue(sqs.NewFromConfig(awsCfg)))
	if get("BROADCAST_CONNECTION") == "ably" {
		opts = append(opts, publish.WithLimits(broadcast.Limits{MaxDataBytes: broadcast.AblyMaxDataBytes, MaxChannelsPerCall: broadcast.AblyMaxChannelsPerRequest}))
	}
	return publish.New(cfg, opts...)
}
