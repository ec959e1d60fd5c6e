package tracing

import (
	"context"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// scope names herald's own instrumentation.
const scope = "github.com/heraldrt/herald/shared/tracing"

// AWS adds a client span per AWS SDK call to an aws.Config's APIOptions
// (config.AWS calls it, so every client herald builds has it), and puts
// the trace into each request's headers: SQS keeps the X-Ray header as
// the message's AWSTraceHeader, so a message queued by the
// PublishFunction continues its trace in the QueueFunction. With no
// tracer provider installed both are no-ops.
//
// It stands in for otelaws on purpose: otelaws imports the S3, Route 53,
// DynamoDB, SNS and SQS clients for their attributes, so every binary
// links and initialises them: in the AuthFunction, which calls none of
// them, dynamodb/schemas alone took 2.8 ms of package initialisation at
// cold start (GODEBUG=inittrace=1). The span names and attributes follow
// the same semantic conventions.
func AWS(apiOptions *[]func(*middleware.Stack) error) {
	*apiOptions = append(*apiOptions, func(s *middleware.Stack) error {
		if err := s.Initialize.Add(middleware.InitializeMiddlewareFunc("HeraldTraceSpan", awsSpan), middleware.Before); err != nil {
			return err
		}
		return s.Build.Add(middleware.BuildMiddlewareFunc("HeraldTraceHeaders", awsHeaders), middleware.After)
	})
}

func awsSpan(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	ctx, span := otel.Tracer(scope).Start(ctx, service+"."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("rpc.system", "aws-api"), attribute.String("rpc.service", service),
			attribute.String("rpc.method", op), attribute.String("cloud.region", awsmiddleware.GetRegion(ctx))))
	defer span.End()
	out, md, err := next.HandleInitialize(ctx, in)
	if !span.IsRecording() {
		return out, md, err
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
		span.SetAttributes(attribute.String("aws.request_id", id))
	}
	if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return out, md, err
}

func awsHeaders(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	return next.HandleBuild(ctx, in)
}
