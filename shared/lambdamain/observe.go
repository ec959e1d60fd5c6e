package lambdamain

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/tracing"
)

// Instrument wraps a function's handler the one way every function is
// observed: a metrics.Recorder in each invocation's context, written as
// one EMF document by em when the invocation ends; and, when tp is not
// nil, one span per invocation (otellambda) that continues the trace the
// event carries (tracing.Carrier) and is flushed before the answer, since
// Lambda may freeze the process right after it. name is the function's
// short name ("queue"): the span's name outside Lambda, where
// AWS_LAMBDA_FUNCTION_NAME is not set.
func Instrument(name string, h lambda.Handler, em *metrics.Emitter, tp tracing.Provider) lambda.Handler {
	var out lambda.Handler = &observed{name: name, next: h, em: em}
	if tp != nil {
		out = otellambda.WrapHandler(out,
			otellambda.WithTracerProvider(tp),
			otellambda.WithFlusher(tp),
			otellambda.WithPropagator(tracing.Propagator()),
			otellambda.WithEventToCarrier(tracing.Carrier))
	}
	return out
}

type observed struct {
	name string
	next lambda.Handler
	em   *metrics.Emitter
}

func (o *observed) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	rec := metrics.NewRecorder()
	ctx = metrics.NewContext(ctx, rec)
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") == "" {
			span.SetName(o.name)
		}
		span.SetAttributes(attribute.String("herald.function", o.name))
	}
	out, err := o.next.Invoke(ctx, payload)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	props := map[string]string{}
	if sc := span.SpanContext(); sc.IsValid() {
		props["traceId"] = sc.TraceID().String()
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		props["requestId"] = lc.AwsRequestID
	}
	if ferr := o.em.Flush(rec, time.Now(), props); ferr != nil {
		slog.Default().ErrorContext(ctx, o.name+": metrics", "error", ferr)
	}
	return out, err
}
