package logging

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// New returns the Lambda logger and makes it slog's default, so packages
// that log through slog.Default() get the request id too. Call it once, in
// main, before anything logs.
func New() *slog.Logger {
	l := lambdacontext.NewLogger()
	slog.SetDefault(l)
	return l
}
