package stream_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/lambdamain"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/metrics/metricstest"
)

// The StreamFunction, instrumented as its bootstrap serves it, writes one
// EMF document per invocation; the lag starts at the record's
// ApproximateCreationDateTime.
func TestMetricsOfAStreamBatch(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	var logs, out bytes.Buffer
	h := handler(t, api, &logs, nil)
	fn := lambdamain.Instrument("stream", lambda.NewHandler(h.Handle),
		&metrics.Emitter{Namespace: "herald", Function: "stream", Driver: "pusher", Out: &out}, nil)
	created := time.Now().Add(-3 * time.Second).Unix()
	event := strings.Replace(string(sample(t, "dynamodb-users-insert.json")), `"ApproximateCreationDateTime": 1795000000`,
		`"ApproximateCreationDateTime": `+strconv.FormatInt(created, 10), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fn.Invoke(ctx, []byte(event)); err != nil {
		t.Fatal(err)
	}
	if n := len(accepted(api)); n != 1 {
		t.Fatalf("provider accepted %d events, want 1", n)
	}
	doc := metricstest.One(t, out.Bytes())
	if doc.Dimensions["Function"] != "stream" {
		t.Errorf("dimensions %v", doc.Dimensions)
	}
	for name, want := range map[string]float64{"Events": 1, "Broadcasts": 1, "ProviderRequests": 1, "Poison": 0, "Redelivered": 0, "ProviderErrors": 0} {
		if got := doc.Sum(name); got != want {
			t.Errorf("%s = %v, want %v\n%s", name, got, want, out.Bytes())
		}
	}
	if lag := doc.Values["Lag"]; len(lag) != 1 || lag[0] < 2000 || lag[0] > 60000 {
		t.Errorf("Lag %v, want one value from the record's creation about 3 s ago", lag)
	}
}
