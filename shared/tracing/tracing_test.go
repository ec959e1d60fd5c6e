package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/heraldrt/herald/shared/tracing"
)

type env map[string]string

func (e env) Get(k string) string { return e[k] }

func TestCarrierFindsTheTraceInEachEvent(t *testing.T) {
	const xrayHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	cases := []struct {
		name, event, key, want string
	}{
		{"SQS AWSTraceHeader", `{"Records":[{"messageId":"1","body":"{}","attributes":{"AWSTraceHeader":"` + xrayHeader + `","SentTimestamp":"1"}},{"messageId":"2"}]}`, "X-Amzn-Trace-Id", xrayHeader},
		{"SQS traceparent attribute", `{"Records":[{"messageId":"1","messageAttributes":{"traceparent":{"stringValue":"` + parent + `","dataType":"String"}}}]}`, "traceparent", parent},
		{"HTTP API headers", `{"version":"2.0","rawPath":"/x","headers":{"traceparent":"` + parent + `","x-amzn-trace-id":"` + xrayHeader + `"},"body":"{}"}`, "traceparent", parent},
		{"HTTP API X-Ray header", `{"version":"2.0","headers":{"x-amzn-trace-id":"` + xrayHeader + `"}}`, "X-Amzn-Trace-Id", xrayHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("_X_AMZN_TRACE_ID", "")
			got := tracing.Carrier([]byte(c.event))
			if v := got.Get(c.key); v != c.want {
				t.Errorf("%s = %q, want %q (carrier %v)", c.key, v, c.want, got)
			}
			ctx := tracing.Propagator().Extract(context.Background(), got)
			if !trace.SpanContextFromContext(ctx).IsValid() {
				t.Error("the propagator finds no parent in the carrier")
			}
		})
	}
	t.Run("stream batch falls back to the invocation's header", func(t *testing.T) {
		t.Setenv("_X_AMZN_TRACE_ID", xrayHeader)
		got := tracing.Carrier([]byte(`{"Records":[{"eventID":"1","dynamodb":{}}]}`))
		if got.Get("X-Amzn-Trace-Id") != xrayHeader {
			t.Errorf("carrier %v", got)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		t.Setenv("_X_AMZN_TRACE_ID", "")
		if got := tracing.Carrier([]byte(`nope`)); len(got.Keys()) != 0 {
			t.Errorf("carrier %v", got)
		}
	})
}

func TestTraceparentWinsOverXRay(t *testing.T) {
	c := propagation.MapCarrier{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}
	sc := trace.SpanContextFromContext(tracing.Propagator().Extract(context.Background(), c))
	if sc.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("trace id %s", sc.TraceID())
	}
}

func TestDisabledWithoutAnEndpoint(t *testing.T) {
	tp, err := tracing.Setup(env{}, "queue")
	if tp != nil || err != nil {
		t.Fatalf("Setup = %v, %v; want nothing installed", tp, err)
	}
	if tracing.Enabled(env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}) {
		t.Error("OTEL_SDK_DISABLED=true is not honoured")
	}
	// With nothing installed, provider requests go out untouched: no
	// no-op span, no traceparent header.
	base := http.DefaultTransport
	if got := tracing.Transport(base); got != base {
		t.Errorf("Transport with tracing off = %T, want the base transport itself", got)
	}
}

func TestExporterConfigurationErrorsNameTheVariable(t *testing.T) {
	for _, e := range []env{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_HEADERS": "secret-without-equals"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"},
	} {
		_, err := tracing.NewExporter(e)
		if err == nil {
			t.Errorf("%v: no error", e)
			continue
		}
		if s := err.Error(); !strings.Contains(s, "OTEL_EXPORTER_OTLP_") || strings.Contains(s, "secret-without-equals") {
			t.Errorf("%v: %v", e, err)
		}
	}
}

// Spans reach an OTLP/HTTP receiver on loopback as a protobuf
// ExportTraceServiceRequest that the collector's own type decodes.
func TestExporterSendsOTLPProtobuf(t *testing.T) {
	var mu sync.Mutex
	var got []*collectortrace.ExportTraceServiceRequest
	var headers []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got, headers = append(got, req), append(headers, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	exp, err := tracing.NewExporter(env{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL + "/", "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=abc%20d"})
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(tracing.Resource(env{"AWS_LAMBDA_FUNCTION_NAME": "herald-QueueFunction"}, "queue")))
	ctx, root := tp.Tracer("test").Start(context.Background(), "queue", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tp.Tracer("test").Start(ctx, "POST api.pusherapp.com", trace.WithSpanKind(trace.SpanKindClient))
	child.End()
	root.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d export requests, want 1", len(got))
	}
	if ct, key := headers[0].Get("Content-Type"), headers[0].Get("X-Api-Key"); ct != "application/x-protobuf" || key != "abc d" {
		t.Errorf("Content-Type %q, x-api-key %q", ct, key)
	}
	rs := got[0].ResourceSpans
	if len(rs) != 1 || len(rs[0].ScopeSpans) != 1 || len(rs[0].ScopeSpans[0].Spans) != 2 {
		t.Fatalf("request %v, want one resource with two spans", got[0])
	}
	attrs := map[string]string{}
	for _, kv := range rs[0].Resource.Attributes {
		attrs[kv.Key] = kv.Value.GetStringValue()
	}
	if attrs["service.name"] != "queue" || attrs["faas.name"] != "herald-QueueFunction" {
		t.Errorf("resource %v", attrs)
	}
	spans := rs[0].ScopeSpans[0].Spans
	c, r := spans[0], spans[1]
	if string(c.TraceId) != string(r.TraceId) || string(c.ParentSpanId) != string(r.SpanId) || len(r.ParentSpanId) != 0 {
		t.Errorf("child %x/%x parent %x, root %x/%x", c.TraceId, c.SpanId, c.ParentSpanId, r.TraceId, r.SpanId)
	}
	if c.Name != "POST api.pusherapp.com" || c.Kind.String() != "SPAN_KIND_CLIENT" || r.Kind.String() != "SPAN_KIND_SERVER" {
		t.Errorf("spans %q %v, %q %v", c.Name, c.Kind, r.Name, r.Kind)
	}
	if r.EndTimeUnixNano < r.StartTimeUnixNano || r.StartTimeUnixNano == 0 {
		t.Errorf("times %d..%d", r.StartTimeUnixNano, r.EndTimeUnixNano)
	}
}

func TestExporterReportsARefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	exp, _ := tracing.NewExporter(env{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": srv.URL + "/custom"})
	if err := exp.ExportSpans(context.Background(), nil); err != nil {
		t.Fatalf("nothing to export: %v", err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	s.End()
	ro := rec.Ended()
	if err := exp.ExportSpans(context.Background(), ro); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v, want the collector's 503", err)
	}
}

// Once a provider is installed, Transport makes a client span per request
// and sends the trace along. (Last in this file: Install is process-wide.)
func TestTransportTracesOnceInstalled(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("traceparent")
	}))
	defer srv.Close()
	res, err := (&http.Client{Transport: tracing.Transport(http.DefaultTransport)}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].SpanKind() != trace.SpanKindClient {
		t.Fatalf("spans %v, want one client span", spans)
	}
	if traceparent, want := <-seen, spans[0].SpanContext().TraceID().String(); !strings.Contains(traceparent, want) {
		t.Errorf("traceparent %q, want trace %s", traceparent, want)
	}
}
