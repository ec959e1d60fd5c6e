// Package tracing is herald's OpenTelemetry setup: a tracer provider that
// exports spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, as the ADOT Lambda layer's
// collector on localhost expects, and nothing at all otherwise; the
// propagators that continue a trace from W3C traceparent and from X-Ray's
// header (SQS's AWSTraceHeader, API Gateway's X-Amzn-Trace-Id); the
// carrier that finds those in a Lambda event; and the instrumentation of
// the provider HTTP clients (otelhttp) and of the AWS SDK's calls.
//
// One span per invocation comes from otellambda, wrapped around the
// handler by shared/lambdamain; provider requests and AWS calls are its
// children.
package tracing
