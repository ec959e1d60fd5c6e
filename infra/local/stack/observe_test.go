package stack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pusher/pusher-http-go/v5"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace endpoint on loopback: it decodes
// each protobuf ExportTraceServiceRequest with the collector's own type.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []received
}

type received struct {
	service string
	span    *tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var ex collectortrace.ExportTraceServiceRequest
		if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(b, &ex) != nil {
			t.Errorf("OTLP request %s %s (%s) does not decode", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, rs := range ex.ResourceSpans {
			service := ""
			for _, kv := range rs.Resource.GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					r.spans = append(r.spans, received{service, s})
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *otlpReceiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.spans...)
}

// A publish request made through the local stack, queued and broadcast by
// the QueueFunction, reaches an OTLP receiver on loopback as spans: one
// per invocation, a child for the SQS SendMessage and one for the request
// to the embedded server; /dev/metrics counts the same invocations.
func TestSpansAndMetricsOfTheLocalStack(t *testing.T) {
	rcv := newOTLPReceiver(t)
	st := start(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL})
	host := strings.TrimPrefix(st.URLs().HTTP, "http://")
	client := pusher.Client{AppID: st.Env("PUBLISH_APP_ID"), Key: st.Env("PUBLISH_APP_KEY"), Secret: st.Env("PUBLISH_APP_SECRET"), Host: host}
	if err := client.Trigger("private-App.Models.User.42", "EmailSent", map[string]string{"subject": "traced"}); err != nil {
		t.Fatalf("trigger through the PublishFunction: %v", err)
	}

	byID := func(spans []received) map[string]*tracepb.Span {
		m := map[string]*tracepb.Span{}
		for _, s := range spans {
			m[string(s.span.SpanId)] = s.span
		}
		return m
	}
	var publish, queue, sendMessage, provider *tracepb.Span
	eventually(t, 30*time.Second, func() (bool, string) {
		spans := rcv.received()
		ids := byID(spans)
		publish, queue, sendMessage, provider = nil, nil, nil, nil
		for _, s := range spans {
			switch {
			case s.span.Kind == tracepb.Span_SPAN_KIND_SERVER && s.span.Name == "publish":
				publish = s.span
			case s.span.Kind == tracepb.Span_SPAN_KIND_SERVER && s.span.Name == "queue":
				queue = s.span
			}
		}
		for _, s := range spans {
			parent := ids[string(s.span.ParentSpanId)]
			switch {
			case s.span.Kind == tracepb.Span_SPAN_KIND_CLIENT && strings.Contains(s.span.Name, "SendMessage") && parent != nil && parent == publish:
				sendMessage = s.span
			case s.span.Kind == tracepb.Span_SPAN_KIND_CLIENT && strings.HasPrefix(s.span.Name, "POST ") && parent != nil && parent == queue:
				provider = s.span
			}
		}
		names := []string{}
		for _, s := range spans {
			names = append(names, fmt.Sprintf("%s:%s(%v)", s.service, s.span.Name, s.span.Kind))
		}
		return publish != nil && queue != nil && sendMessage != nil && provider != nil, strings.Join(names, ", ")
	})
	t.Logf("publish trace %x, queue trace %x", publish.TraceId, queue.TraceId)
	if string(provider.TraceId) != string(queue.TraceId) || string(sendMessage.TraceId) != string(publish.TraceId) {
		t.Errorf("child spans are not in their invocation's trace")
	}

	status, body := get(t, st.URLs().HTTP+"/dev/metrics.json", nil)
	if status != http.StatusOK {
		t.Fatalf("/dev/metrics.json: %d %s", status, body)
	}
	var snap snapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		t.Fatalf("/dev/metrics.json: %v: %s", err, body)
	}
	if snap.Totals["publish"]["PublishAccepted"] < 1 || snap.Totals["queue"]["Broadcasts"] < 1 || snap.Totals["queue"]["ProviderRequests"] < 1 {
		t.Errorf("/dev/metrics.json totals %v", snap.Totals)
	}
	if len(snap.Lag) == 0 || snap.Lag[len(snap.Lag)-1].Function == "" {
		t.Errorf("/dev/metrics.json lag %v, want the broadcast's", snap.Lag)
	}
	if status, page := get(t, st.URLs().HTTP+"/dev/metrics", nil); status != http.StatusOK || !strings.Contains(string(page), "/dev/metrics.json") {
		t.Errorf("/dev/metrics: %d", status)
	}
}
