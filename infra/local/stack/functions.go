package stack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/functions/publish"
	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/functions/stream"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// Functions are herald's handlers, built in-process from the environment
// exactly as their bootstraps build them in a Lambda.
type Functions struct {
	// Auth serves POST /broadcasting/auth and /broadcasting/user-auth.
	Auth http.Handler
	// Publish serves the Pusher HTTP API's publish routes.
	Publish http.Handler
	// Queue and Stream take Lambda's JSON events, so the local stack
	// drives the same decoding path Lambda does.
	Queue  lambda.Handler
	Stream lambda.Handler
}

// LogicalIDs are the functions' logical ids in template.yaml.
var LogicalIDs = []string{"QueueFunction", "StreamFunction", "PublishFunction", "AuthFunction"}

// Handler returns the Lambda handler of a function by its logical id in
// template.yaml. The HTTP functions take API Gateway HTTP API (2.0) events.
func (f Functions) Handler(logicalID string) (lambda.Handler, error) {
	switch logicalID {
	case "QueueFunction":
		return f.Queue, nil
	case "StreamFunction":
		return f.Stream, nil
	case "AuthFunction":
		return newSharedHandler(httpapi.Handler(f.Auth)), nil
	case "PublishFunction":
		return newSharedHandler(httpapi.Handler(f.Publish)), nil
	}
	return nil, fmt.Errorf("no function %q: want one of %s", logicalID, strings.Join(LogicalIDs, ", "))
}

// sqsAPI is the SQS client the functions send through.
type sqsAPI = sqsbatch.API

// buildFunctions builds every function from env, sending to SQS through
// client. A function that cannot be configured stops the stack with the
// reason, as it would stop a Lambda at init.
func buildFunctions(ctx context.Context, env *env, client sqsAPI, log *slog.Logger) (Functions, error) {
	var f Functions
	raw, err := newDriver(env, log)
	if err != nil {
		return f, err
	}
	// As in every bootstrap: temporary failures retried within the
	// invocation (BROADCAST_RETRY_*), each message once when
	// IDEMPOTENCY_TABLE is set. One guard serves the three functions, as
	// one process would.
	driver, err := delivery.GuardFromEnv(raw, env.Lookup, log)
	if err != nil {
		return f, err
	}

	ac, err := auth.LoadConfig(env.Lookup)
	if err != nil {
		return f, fmt.Errorf("AuthFunction: %w", err)
	}
	if f.Auth, err = auth.New(ctx, ac, log.With("function", "AuthFunction")); err != nil {
		return f, fmt.Errorf("AuthFunction: %w", err)
	}

	var dlq *deadletter.Sender
	if u := env.Get("BROADCAST_DLQ_URL"); u != "" {
		if dlq, err = deadletter.New(client, deadletter.Config{QueueURL: u}); err != nil {
			return f, fmt.Errorf("dead-letter queue: %w", err)
		}
	}

	qh := &queue.Handler{Driver: driver, Logger: log.With("function", "QueueFunction")}
	if dlq != nil {
		qh.DeadLetters = dlq
	}
	f.Queue = newSharedHandler(qh.Handle)

	tables, err := stream.LoadTables(env.Get("STREAM_TABLES"), env.Get("STREAM_TABLES_FILE"))
	if err != nil {
		return f, fmt.Errorf("StreamFunction: %w", err)
	}
	sh := &stream.Handler{Driver: driver, Tables: tables, Logger: log.With("function", "StreamFunction")}
	if dlq != nil {
		sh.DeadLetters = dlq
	}
	f.Stream = newSharedHandler(sh.Handle)

	mode := env.Get("PUBLISH_MODE")
	if mode == "" {
		mode = publish.ModeQueue
	}
	pc := publish.Config{
		AppID:    env.Get("PUBLISH_APP_ID"),
		Key:      env.Get("PUBLISH_APP_KEY"),
		Secret:   env.Get("PUBLISH_APP_SECRET"),
		Mode:     mode,
		QueueURL: env.Get("BROADCAST_QUEUE_URL"),
	}
	opts := []publish.Option{publish.WithLogger(log.With("function", "PublishFunction"))}
	if mode == publish.ModeDirect {
		opts = append(opts, publish.WithDriver(driver))
	} else {
		// As its bootstrap does: queue mode validates against the
		// provider's limits and leaves delivery to the QueueFunction.
		opts = append(opts, publish.WithQueue(client))
		if raw.Name() == "ably" {
			opts = append(opts, publish.WithLimits(broadcast.Limits{MaxDataBytes: broadcast.AblyMaxDataBytes, MaxChannelsPerCall: broadcast.AblyMaxChannelsPerRequest}))
		}
	}
	if f.Publish, err = publish.New(pc, opts...); err != nil {
		return f, fmt.Errorf("PublishFunction: %w", err)
	}
	return f, nil
}

// newDriver builds the driver BROADCAST_CONNECTION selects, from the same
// variables, read by the same code, as the functions' bootstraps.
func newDriver(env *env, log *slog.Logger) (broadcast.Driver, error) {
	bc, err := broadcast.LoadConfig(env.Lookup)
	if err != nil {
		return nil, err
	}
	return broadcast.New(bc, log)
}
