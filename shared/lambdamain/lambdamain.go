package lambdamain

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/heraldrt/herald/shared/config"
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

// Start loads the configuration, builds the handler once and serves it.
// name prefixes the init failure's log line.
func Start(name string, build Build) {
	log := Logger()
	h, err := load(context.Background(), build, log)
	if err != nil {
		log.Error(name+": configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

func load(ctx context.Context, build Build, log *slog.Logger) (any, error) {
	env, err := config.Load(ctx)
	if err != nil {
		return nil, err
	}
	return build(ctx, env, log)
}
