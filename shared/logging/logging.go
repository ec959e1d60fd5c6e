package logging

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/heraldrt/herald/shared/config"
)

// New returns the Lambda logger and makes it slog's default, so packages
// that log through slog.Default() get the request id too. Call it once, in
// main, before anything logs.
func New() *slog.Logger {
	l := lambdacontext.NewLogger()
	slog.SetDefault(l)
	return l
}

// Init is what every function's main does before lambda.Start: it builds
// the logger (New), loads the configuration (config.Load) and the handler
// from both with build. A failure of either is logged as name's and ends
// the process: an init failure, which Lambda reports and retries with the
// next cold start.
func Init[H any](name string, build func(context.Context, config.Lookup, *slog.Logger) (H, error)) H {
	log := New()
	ctx := context.Background()
	env, err := config.Load(ctx)
	var h H
	if err == nil {
		h, err = build(ctx, env, log)
	}
	if err != nil {
		log.Error(name+": configuration", "error", err)
		os.Exit(1)
	}
	return h
}
