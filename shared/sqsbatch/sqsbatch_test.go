package sqsbatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/heraldrt/herald/infra/sqs"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// counting passes calls to the real client and counts them.
type counting struct {
	sqsbatch.API
	mu    sync.Mutex
	calls []int
}

func (c *counting) SendMessageBatch(ctx context.Context, in *sqsbatch.SendMessageBatchInput) (*sqsbatch.SendMessageBatchOutput, error) {
	c.mu.Lock()
	c.calls = append(c.calls, len(in.Entries))
	c.mu.Unlock()
	return c.API.SendMessageBatch(ctx, in)
}

func setup(t *testing.T) (*sqs.Server, *counting, string) {
	srv := sqs.New(sqs.Config{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	url, _ := srv.CreateQueue("q", nil)
	return srv, &counting{API: sqs.BatchClient(ts.URL)}, url
}

func TestSendChunksAndKeepsOrder(t *testing.T) {
	srv, api, url := setup(t)
	var msgs []sqsbatch.Message
	for i := range 25 {
		msgs = append(msgs, sqsbatch.Message{Body: fmt.Sprintf("m%02d", i), Attributes: map[string]string{"reason": "r", "empty": ""}})
	}
	// Three messages of 100 KiB: two still fit beside the last five small
	// ones (under 256 KiB), the third needs a call of its own.
	big := strings.Repeat("x", 100*1024)
	msgs = append(msgs, sqsbatch.Message{Body: big + "1"}, sqsbatch.Message{Body: big + "2"}, sqsbatch.Message{Body: big + "3"})
	msgs = append(msgs, sqsbatch.Message{Body: strings.Repeat("y", sqsbatch.MaxBytes+1)})
	errs := sqsbatch.Send(context.Background(), api, url, msgs, 1)
	for i, err := range errs[:28] {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if errs[28] == nil || !strings.Contains(errs[28].Error(), "256 KiB") {
		t.Fatalf("oversize message: %v", errs[28])
	}
	if got, want := fmt.Sprint(api.calls), "[10 10 7 1]"; got != want {
		t.Fatalf("calls carried %s entries, want %s", got, want)
	}
	stored := srv.Messages("q")
	for i, m := range stored[:25] {
		if m.Body != fmt.Sprintf("m%02d", i) || m.Attributes["reason"].StringValue != "r" {
			t.Fatalf("message %d = %+v", i, m)
		}
		if _, ok := m.Attributes["empty"]; ok {
			t.Fatalf("empty attribute was sent")
		}
	}
}

func TestSendRetriesOnlyWhatSQSFailedOnItsSide(t *testing.T) {
	srv, api, url := setup(t)
	var mu sync.Mutex
	seen := map[string]int{}
	srv.SetSendFault(func(_, body string) *sqs.EntryFault {
		mu.Lock()
		defer mu.Unlock()
		seen[body]++
		switch {
		case body == "throttled-once" && seen[body] == 1:
			return &sqs.EntryFault{Code: "InternalError", Message: "try again"}
		case body == "always-down":
			return &sqs.EntryFault{Code: "InternalError", Message: "down"}
		case body == "refused":
			return &sqs.EntryFault{Code: "InvalidMessageContents", Message: "no", SenderFault: true}
		}
		return nil
	})
	msgs := []sqsbatch.Message{{Body: "ok"}, {Body: "throttled-once"}, {Body: "always-down"}, {Body: "refused"}}
	errs := sqsbatch.Send(context.Background(), api, url, msgs, 3)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("ok/throttled-once: %v %v", errs[0], errs[1])
	}
	if errs[2] == nil || !strings.Contains(errs[2].Error(), "InternalError") {
		t.Fatalf("always-down: %v", errs[2])
	}
	if e, ok := errs[3].(*sqsbatch.Error); !ok || !e.SenderFault {
		t.Fatalf("refused: %#v", errs[3])
	}
	if seen["always-down"] != 3 || seen["refused"] != 1 || seen["ok"] != 1 {
		t.Fatalf("attempts: %v", seen)
	}
	if n := len(srv.Messages("q")); n != 2 {
		t.Fatalf("%d stored, want 2", n)
	}
}

// TestSendResendsWhatArrivedAltered puts a proxy in front of the SQS
// stand-in that alters the MD5 of one entry's body in the first answer,
// as a body damaged in transit would show: that message is not reported
// as queued and is sent again; the others are not.
func TestSendResendsWhatArrivedAltered(t *testing.T) {
	srv := sqs.New(sqs.Config{})
	url, _ := srv.CreateQueue("q", nil)
	var mu sync.Mutex
	answers := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		mu.Lock()
		answers++
		if answers == 1 {
			var out map[string]any
			json.Unmarshal(body, &out)
			for _, e := range out["Successful"].([]any) {
				if e := e.(map[string]any); e["Id"] == "1" {
					e["MD5OfMessageBody"] = "00000000000000000000000000000000"
				}
			}
			body, _ = json.Marshal(out)
		}
		mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(ts.Close)
	api := &counting{API: sqs.BatchClient(ts.URL)}
	msgs := []sqsbatch.Message{{Body: "a"}, {Body: "b"}, {Body: "c"}}
	errs := sqsbatch.Send(context.Background(), api, url, msgs, 2)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if got := fmt.Sprint(api.calls); got != "[3 1]" {
		t.Fatalf("calls carried %s entries, want [3 1] (b again)", got)
	}
	var bodies []string
	for _, m := range srv.Messages("q") {
		bodies = append(bodies, m.Body)
	}
	if got := fmt.Sprint(bodies); got != "[a b c b]" {
		t.Fatalf("stored %s", got)
	}

	// With one attempt, the message is reported, not retried.
	mu.Lock()
	answers = 0
	mu.Unlock()
	errs = sqsbatch.Send(context.Background(), api, url, msgs, 1)
	if errs[0] != nil || errs[2] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "MD5") {
		t.Fatalf("errors %v, want only b's, naming the MD5", errs)
	}
}
