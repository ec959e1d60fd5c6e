package queue_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/lambdamain"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/metrics/metricstest"
	"github.com/heraldrt/herald/shared/retry"
	"github.com/heraldrt/herald/shared/tracing"
)

// headers records the headers of each request the driver sends, below
// its own transport, where the trace has been injected.
type headers struct {
	mu   sync.Mutex
	seen []http.Header
}

func (h *headers) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, r.Header.Clone())
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// One SQS message, sent with an X-Ray trace header, is followed through
// the QueueFunction (instrumented as its bootstrap serves it) to the
// provider's HTTP request: one trace id from the message's AWSTraceHeader
// to the traceparent the Pusher API receives.
func TestOneTraceFromTheMessageToTheProvider(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(xray.NewIDGenerator()))
	tracing.Install(tp)
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })

	api := testkit.NewPusherAPI(t, appID, key, secret)
	seen := &headers{}
	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http",
		HTTPClient: &http.Client{Transport: seen}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	fn := lambdamain.Instrument("queue", lambda.NewHandler(handler(t, queue.Deps{Driver: d})),
		&metrics.Emitter{Namespace: "herald", Function: "queue", Driver: "pusher", Out: &out}, tp)

	const traceHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	sent := time.Now().Add(-1500 * time.Millisecond)
	event := strings.Replace(string(sample(t, "sqs-email-sent.json")), `"SentTimestamp": "1795000000000"`,
		`"SentTimestamp": "`+strconv.FormatInt(sent.UnixMilli(), 10)+`", "AWSTraceHeader": "`+traceHeader+`"`, 1)
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	if _, err := fn.Invoke(ctx, []byte(event)); err != nil {
		t.Fatal(err)
	}
	if got := accepted(api); len(got) != 1 {
		t.Fatalf("provider accepted %v, want the one EmailSent", got)
	}

	const traceID, parentID = "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8"
	var server, client sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.SpanKind() {
		case trace.SpanKindServer:
			server = s
		case trace.SpanKindClient:
			client = s
		}
	}
	if server == nil || client == nil {
		t.Fatalf("spans %v, want the invocation's and the provider request's", rec.Ended())
	}
	if server.Name() != "queue" || server.SpanContext().TraceID().String() != traceID || server.Parent().SpanID().String() != parentID || !server.Parent().IsRemote() {
		t.Errorf("invocation span %q trace %s parent %s, want queue continuing %s from %s", server.Name(), server.SpanContext().TraceID(), server.Parent().SpanID(), traceID, parentID)
	}
	if client.SpanContext().TraceID().String() != traceID || client.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Errorf("provider request span trace %s parent %s, want a child of the invocation's", client.SpanContext().TraceID(), client.Parent().SpanID())
	}
	if len(seen.seen) != 1 || !strings.Contains(seen.seen[0].Get("Traceparent"), traceID+"-"+client.SpanContext().SpanID().String()) {
		t.Errorf("provider request headers %v, want a traceparent naming the request's span", seen.seen)
	}

	doc := metricstest.One(t, out.Bytes())
	if string(doc.Root["traceId"]) != `"`+traceID+`"` || string(doc.Root["requestId"]) != `"req-1"` {
		t.Errorf("EMF properties traceId %s requestId %s", doc.Root["traceId"], doc.Root["requestId"])
	}
	for name, want := range map[string]float64{"Events": 1, "Broadcasts": 1, "ProviderRequests": 1, "Poison": 0, "Redelivered": 0} {
		if got := doc.Sum(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if lag := doc.Values["Lag"]; len(lag) != 1 || lag[0] < 1500 || lag[0] > 60000 {
		t.Errorf("Lag %v, want one value from the SentTimestamp 1.5 s ago", lag)
	}
}

// A batch with poison messages and a channel the provider refuses for a
// while: one EMF document that counts each outcome.
func TestMetricsOfAMixedBatch(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	api.SetFault(testkit.FailChannel("private-App.Models.User.43", http.StatusServiceUnavailable))
	_, sender := newDLQ(t)
	guarded := delivery.Guard(driver(t, api), retry.Policy{MaxAttempts: 2, Base: time.Millisecond, Cap: time.Millisecond}, nil, nil)
	var out bytes.Buffer
	fn := lambdamain.Instrument("queue", lambda.NewHandler(handler(t, queue.Deps{Driver: guarded, DeadLetters: sender})),
		&metrics.Emitter{Namespace: "herald", Function: "queue", Driver: "pusher", Out: &out}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fn.Invoke(ctx, sample(t, "sqs-mixed-poison.json")); err != nil {
		t.Fatal(err)
	}
	doc := metricstest.One(t, out.Bytes())
	if doc.Dimensions["Function"] != "queue" || doc.Dimensions["Driver"] != "pusher" {
		t.Errorf("dimensions %v", doc.Dimensions)
	}
	// sqs-mixed-poison: EmailSent, EmailRead (on User.42 and User.43), a
	// notification to User.42, and two poison messages. EmailRead fails
	// twice; the notification waits behind it on User.42's channel, so
	// both are re-sent once and then handed back to SQS.
	for name, want := range map[string]float64{"Events": 3, "Broadcasts": 1, "Poison": 2, "Redelivered": 2, "Retries": 2,
		"ProviderRequests": 3, "ProviderErrors5xx": 2, "ProviderErrors": 2} {
		if got := doc.Sum(name); got != want {
			t.Errorf("%s = %v, want %v\n%s", name, got, want, out.Bytes())
		}
	}
}
