package lambdamain

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/tracing"
)

// Logger returns the Lambda logger and makes it slog's default, so packages
// that log through slog.Default() get the request id too.
func Logger() *slog.Logger {
	l := lambdacontext.NewLogger()
	slog.SetDefault(l)
	return l
}

// Build makes a function's handler from its configuration; the result is
// anything lambda.Start accepts.
type Build func(ctx context.Context, env config.Lookup, log *slog.Logger) (any, error)

// Start loads the configuration, sets up tracing and metrics, builds the
// handler once, instruments it (Instrument) and serves it. name is the
// function's short name: the Function dimension of its metrics, the
// service name of its spans and the prefix of the init failure's log line.
func Start(name string, build Build) {
	log := Logger()
	h, err := load(context.Background(), name, build, log)
	if err != nil {
		log.Error(name+": configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

func load(ctx context.Context, name string, build Build, log *slog.Logger) (lambda.Handler, error) {
	env, err := config.Load(ctx)
	if err != nil {
		return nil, err
	}
	em, err := metrics.FromEnv(env, name)
	if err != nil {
		return nil, err
	}
	// Before the build, so the clients it makes find the tracer provider.
	tp, err := tracing.Setup(env, name)
	if err != nil {
		return nil, err
	}
	fn, err := build(ctx, env, log)
	if err != nil {
		return nil, err
	}
	return Instrument(name, lambda.NewHandler(fn), em, tp), nil
}
