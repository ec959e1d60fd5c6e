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
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/httpapi"
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

	// obs instruments Queue, Stream and what Handler returns.
	obs *observer
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
		return f.obs.wrap("auth", newSharedHandler(httpapi.Handler(f.Auth))), nil
	case "PublishFunction":
		return f.obs.wrap("publish", newSharedHandler(httpapi.Handler(f.Publish))), nil
	}
	return nil, fmt.Errorf("no function %q: want one of %s", logicalID, strings.Join(LogicalIDs, ", "))
}

// buildFunctions builds every function from env with the same FromEnv
// their Lambda entry points call: each makes its own AWS clients from the
// environment (AWS_ENDPOINT_URL is the stack's moto), as in a Lambda. A
// function that cannot be configured stops the stack with the reason, as
// it would stop a Lambda at init.
func buildFunctions(ctx context.Context, env *env, log *slog.Logger) (Functions, error) {
	var f Functions
	// Before the driver, whose HTTP client finds the tracer provider.
	obs, err := newObserver(env.Lookup)
	if err != nil {
		return f, err
	}
	f.obs = obs
	// One guarded driver (retries; each message once when
	// IDEMPOTENCY_TABLE is set) serves the three functions, as one process
	// would.
	driver, err := delivery.DriverFromEnv(ctx, env.Lookup, log)
	if err != nil {
		return f, err
	}

	if f.Auth, err = auth.FromEnv(ctx, env.Lookup, auth.Deps{Logger: log.With("function", "AuthFunction")}); err != nil {
		return f, fmt.Errorf("AuthFunction: %w", err)
	}

	qh, err := queue.FromEnv(ctx, env.Lookup, queue.Deps{Driver: driver, Logger: log.With("function", "QueueFunction")})
	if err != nil {
		return f, fmt.Errorf("QueueFunction: %w", err)
	}
	f.Queue = f.obs.wrap("queue", newSharedHandler(qh)) // its own Invoke, as the bootstrap serves it

	sh, err := stream.FromEnv(ctx, env.Lookup, stream.Deps{Driver: driver, Logger: log.With("function", "StreamFunction")})
	if err != nil {
		return f, fmt.Errorf("StreamFunction: %w", err)
	}
	f.Stream = f.obs.wrap("stream", newSharedHandler(sh.Handle))

	if f.Publish, err = publish.FromEnv(ctx, env.Lookup, publish.Deps{Driver: driver, Logger: log.With("function", "PublishFunction")}); err != nil {
		return f, fmt.Errorf("PublishFunction: %w", err)
	}
	return f, nil
}
