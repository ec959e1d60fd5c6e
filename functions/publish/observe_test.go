package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/lambdamain"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/metrics/metricstest"
)

// The PublishFunction, instrumented as its bootstrap serves it, counts
// accepted and refused requests, the events it broadcast, and their lag
// from the request's arrival at API Gateway.
func TestMetricsOfPublishRequests(t *testing.T) {
	signedAt := func() time.Time { return time.Unix(sampleTime+30, 0) }
	h, api := direct(t, signedAt)
	var out bytes.Buffer
	fn := lambdamain.Instrument("publish", lambda.NewHandler(httpapi.Handler(h)),
		&metrics.Emitter{Namespace: "herald", Function: "publish", Driver: "pusher", Out: &out}, nil)

	invoke := func(event []byte) metrics.Parsed {
		t.Helper()
		out.Reset()
		if _, err := fn.Invoke(context.Background(), event); err != nil {
			t.Fatal(err)
		}
		return metricstest.One(t, out.Bytes())
	}

	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(sample(t, "http-publish-batch-events.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev.RequestContext.TimeEpoch = time.Now().Add(-800 * time.Millisecond).UnixMilli()
	good, _ := json.Marshal(ev)
	doc := invoke(good)
	if n := len(api.Events()); n != 2 {
		t.Fatalf("provider accepted %d events, want the sample's 2", n)
	}
	for name, want := range map[string]float64{"PublishAccepted": 1, "PublishRefused": 0, "Events": 2, "Broadcasts": 2, "ProviderRequests": 1} {
		if got := doc.Sum(name); got != want {
			t.Errorf("accepted request: %s = %v, want %v\n%s", name, got, want, out.Bytes())
		}
	}
	if lag := doc.Values["Lag"]; len(lag) != 1 || lag[0] < 800 || lag[0] > 60000 {
		t.Errorf("Lag %v, want one value from the request's arrival 0.8 s ago", lag)
	}

	ev.Body = `{"name":"x"`
	bad, _ := json.Marshal(ev)
	doc = invoke(bad)
	if doc.Sum("PublishRefused") != 1 || doc.Sum("PublishAccepted") != 0 || doc.Sum("ProviderRequests") != 0 {
		t.Errorf("refused request: %s", out.Bytes())
	}
}
