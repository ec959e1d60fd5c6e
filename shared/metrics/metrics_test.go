package metrics_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/metrics/metricstest"
)

type env map[string]string

func (e env) Get(k string) string { return e[k] }

func (e env) Connection() string { return e["BROADCAST_CONNECTION"] }

func TestDocumentFollowsTheSpecification(t *testing.T) {
	var out bytes.Buffer
	em, err := metrics.FromEnv(env{"HERALD_METRICS_NAMESPACE": "herald-test", "BROADCAST_CONNECTION": "pusher"}, "queue")
	if err != nil {
		t.Fatal(err)
	}
	em.Out = &out
	r := metrics.NewRecorder()
	r.Add(metrics.Events, 3)
	r.Add(metrics.Broadcasts, 2)
	r.AddClass(metrics.ProviderErrors, "429", 1)
	r.Observe(metrics.ProviderLatency, 12.5)
	r.Observe(metrics.ProviderLatency, 7)
	now := time.UnixMilli(1764000000123)
	if err := em.Flush(r, now, map[string]string{"traceId": "0af7651916cd43dd8448eb211c80319c", "requestId": ""}); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(out.Bytes(), []byte("\n")); n != 1 || !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
		t.Fatalf("document is %d lines, want exactly one:\n%s", n, out.Bytes())
	}
	p := metricstest.One(t, out.Bytes())
	if p.Namespace != "herald-test" || p.Dimensions["Function"] != "queue" || p.Dimensions["Driver"] != "pusher" || !p.Timestamp.Equal(now) {
		t.Errorf("namespace %q, dimensions %v, timestamp %v", p.Namespace, p.Dimensions, p.Timestamp)
	}
	for name, want := range map[string]float64{"Events": 3, "Broadcasts": 2, "ProviderErrors": 1, "ProviderErrors429": 1, "ProviderLatency": 19.5} {
		if got := p.Sum(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if p.Units["ProviderLatency"] != metrics.Milliseconds || p.Units["Events"] != metrics.Count {
		t.Errorf("units %v", p.Units)
	}
	if len(p.Values["ProviderLatency"]) != 2 {
		t.Errorf("latency values %v, want each request's", p.Values["ProviderLatency"])
	}
	if string(p.Root["traceId"]) != `"0af7651916cd43dd8448eb211c80319c"` {
		t.Errorf("traceId property %s", p.Root["traceId"])
	}
	if _, ok := p.Root["requestId"]; ok {
		t.Error("an empty property is written")
	}
}

func TestEmptyInvocationStillWritesAValidDocument(t *testing.T) {
	var out bytes.Buffer
	em, _ := metrics.FromEnv(env{}, "auth")
	em.Out = &out
	if err := em.Flush(nil, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	p := metricstest.One(t, out.Bytes())
	if p.Namespace != metrics.DefaultNamespace || p.Dimensions["Driver"] != "null" || len(p.Values) != 0 {
		t.Errorf("parsed %+v", p)
	}
}

func TestValuesStayWithinTheLimit(t *testing.T) {
	var out bytes.Buffer
	em, _ := metrics.FromEnv(env{}, "queue")
	em.Out = &out
	r := metrics.NewRecorder()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 1000 {
				r.Observe(metrics.Lag, 5)
				r.Add(metrics.Events, 1)
			}
		})
	}
	wg.Wait()
	em.Flush(r, time.Now(), nil)
	p := metricstest.One(t, out.Bytes())
	if n := len(p.Values["Lag"]); n != 100 {
		t.Errorf("%d lag values, want a sample of 100 out of 10,000", n)
	}
	if p.Sum("Events") != 10000 {
		t.Errorf("Events = %v, want 10000", p.Sum("Events"))
	}
}

func TestNamespaceTooLongIsAConfigurationError(t *testing.T) {
	_, err := metrics.FromEnv(env{"HERALD_METRICS_NAMESPACE": strings.Repeat("x", 256)}, "queue")
	if err == nil || !strings.Contains(err.Error(), "HERALD_METRICS_NAMESPACE") {
		t.Fatalf("err = %v, want one naming HERALD_METRICS_NAMESPACE", err)
	}
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	r := metrics.From(context.Background())
	r.Add(metrics.Events, 1)
	r.Observe(metrics.Lag, 1)
	r.Since(metrics.Lag, time.Now())
	if r.Count(metrics.Events) != 0 {
		t.Fatal("a nil recorder counted")
	}
}

func TestTransportClassifiesProviderAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		case "/429":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/400":
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	client := &http.Client{Transport: metrics.Transport(http.DefaultTransport)}
	r := metrics.NewRecorder()
	ctx := metrics.NewContext(context.Background(), r)
	for _, path := range []string{"/ok", "/429", "/503", "/400", "/slow"} {
		ctx := ctx
		if path == "/slow" {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	for name, want := range map[string]float64{"ProviderRequests": 5, "ProviderErrors": 4, "ProviderErrors429": 1,
		"ProviderErrors5xx": 1, "ProviderErrors4xx": 1, "ProviderErrorsTimeout": 1, "ProviderErrorsNetwork": 0} {
		if got := r.Count(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	var out bytes.Buffer
	em, _ := metrics.FromEnv(env{}, "queue")
	em.Out = &out
	em.Flush(r, time.Now(), nil)
	if p := metricstest.One(t, out.Bytes()); len(p.Values["ProviderLatency"]) != 5 {
		t.Errorf("latency values %v, want one per request", p.Values["ProviderLatency"])
	}
}

func TestReceivedCountsAWebhook(t *testing.T) {
	r := metrics.NewRecorder()
	metrics.Received(metrics.NewContext(context.Background(), r))
	if r.Count(metrics.WebhooksReceived) != 1 {
		t.Fatal("WebhooksReceived not counted")
	}
}
