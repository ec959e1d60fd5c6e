// Package logging gives every function bootstrap the same logger: log/slog
// through aws-lambda-go's lambdacontext handler, which attaches the
// invocation's requestId and follows the function's LoggingConfig
// (AWS_LAMBDA_LOG_FORMAT JSON or TEXT, AWS_LAMBDA_LOG_LEVEL). Init is the
// rest of a bootstrap's start: configuration and handler.
//
// It only builds the logger; what to log is each package's business.
package logging
