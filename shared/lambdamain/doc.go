// Package lambdamain is what every function's bootstrap does before it
// serves: a log/slog logger through aws-lambda-go's lambdacontext handler,
// which attaches the invocation's requestId and follows the function's
// LoggingConfig (AWS_LAMBDA_LOG_FORMAT JSON or TEXT, AWS_LAMBDA_LOG_LEVEL);
// the configuration loaded once (environment plus the provider secret); the
// handler built from it; and lambda.Start. A failure before serving is an
// init failure: it is logged and the process exits, so Lambda reports it
// and retries the cold start.
package lambdamain
