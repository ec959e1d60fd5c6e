// Package lambdamain is what every function's bootstrap does before it
// serves: a log/slog logger through aws-lambda-go's lambdacontext handler,
// which attaches the invocation's requestId and follows the function's
// LoggingConfig (AWS_LAMBDA_LOG_FORMAT JSON or TEXT, AWS_LAMBDA_LOG_LEVEL);
// the configuration loaded once (environment plus the provider secret);
// tracing (shared/tracing) and metrics (shared/metrics) set up from it; the
// handler built from it; and lambda.Start with the handler instrumented:
// one span and one EMF document per invocation. It is the one place a
// handler is wrapped. A failure before serving is an init failure: it is
// logged and the process exits, so Lambda reports it and retries the cold
// start.
package lambdamain
