package tracing

import (
	"context"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Lookup reads configuration; shared/config's Lookup is one.
type Lookup interface{ Get(key string) string }

// Enabled reports whether env asks for spans: an OTLP endpoint is set and
// OTEL_SDK_DISABLED is not true.
func Enabled(env Lookup) bool {
	if env.Get("OTEL_SDK_DISABLED") == "true" {
		return false
	}
	return env.Get("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env.Get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Propagator continues a trace from X-Ray's header, then from W3C
// traceparent, which wins when both are given.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(xray.Propagator{}, propagation.TraceContext{}, propagation.Baggage{})
}

// Provider is a tracer provider that must be flushed before an invocation
// answers: Lambda may freeze the process right after.
type Provider interface {
	trace.TracerProvider
	ForceFlush(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Setup installs the global tracer provider and propagator for service
// when env enables tracing, and returns the provider; it returns nil, and
// installs nothing, when it does not, so every instrumentation stays the
// global no-op. The exporter reads the standard OTEL_EXPORTER_OTLP_*
// variables (see NewExporter); spans carry X-Ray-compatible trace ids, so
// a collector can send them on to X-Ray.
func Setup(env Lookup, service string) (Provider, error) {
	if !Enabled(env) {
		return nil, nil
	}
	exp, err := NewExporter(env)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithIDGenerator(xray.NewIDGenerator()),
		sdktrace.WithResource(Resource(env, service)),
	)
	Install(tp)
	return tp, nil
}

// Install makes tp the global tracer provider, with Propagator: what
// Setup does, and what tests do with an in-memory exporter.
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator())
	installed.Store(true)
}

// installed is set by Install; until then Transport adds nothing.
var installed atomic.Bool

// Resource names the process: service.name from OTEL_SERVICE_NAME or
// service, and the Lambda function's name and version when set.
func Resource(env Lookup, service string) *resource.Resource {
	attrs := []attribute.KeyValue{attribute.String("service.name", service), attribute.String("cloud.provider", "aws")}
	if s := env.Get("OTEL_SERVICE_NAME"); s != "" {
		attrs[0] = attribute.String("service.name", s)
	}
	if fn := env.Get("AWS_LAMBDA_FUNCTION_NAME"); fn != "" {
		attrs = append(attrs, attribute.String("faas.name", fn), attribute.String("faas.version", env.Get("AWS_LAMBDA_FUNCTION_VERSION")),
			attribute.String("cloud.region", env.Get("AWS_REGION")))
	}
	return resource.NewSchemaless(attrs...)
}

// Transport returns base making one client span per request, a child of
// the span in the request's context, and injecting the trace into its
// headers. Until a tracer provider is installed (Setup found tracing on,
// or Install was called) it returns base as it is: otelhttp would
// otherwise build a no-op span and its metrics' attribute sets for every
// provider request, for nothing. Clients are built after Setup (see
// shared/lambdamain), so they see the decision.
func Transport(base http.RoundTripper) http.RoundTripper {
	if !installed.Load() {
		return base
	}
	return otelhttp.NewTransport(base, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return r.Method + " " + r.URL.Host
	}))
}
