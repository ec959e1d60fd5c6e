package config

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/tracing"
)

// Every client built from AWS makes a client span per call, a child of
// the caller's, and sends the trace in its headers (X-Amzn-Trace-Id, which
// SQS keeps as AWSTraceHeader, and traceparent).
func TestAWSCallsAreTraced(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tracing.Install(tp)
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })

	target, _ := url.Parse(testkit.Moto(t).Endpoint)
	var mu sync.Mutex
	var seen []http.Header
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg, err := AWS(Map(map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_ENDPOINT_URL": srv.URL}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "invocation")
	if _, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	parent.End()

	var call sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			call = s
		}
	}
	if call == nil || call.Name() != "SQS.ListQueues" || call.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v, want SQS.ListQueues under the invocation", rec.Ended())
	}
	attrs := map[string]string{}
	for _, a := range call.Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs["rpc.service"] != "SQS" || attrs["rpc.method"] != "ListQueues" || attrs["http.response.status_code"] != "200" {
		t.Errorf("attributes %v", attrs)
	}
	mu.Lock()
	defer mu.Unlock()
	tid := parent.SpanContext().TraceID().String()
	if len(seen) != 1 || !strings.Contains(seen[0].Get("Traceparent"), tid) || !strings.Contains(seen[0].Get("X-Amzn-Trace-Id"), tid[8:]) {
		t.Errorf("request headers %v, want the trace %s in traceparent and X-Amzn-Trace-Id", seen, tid)
	}
}
