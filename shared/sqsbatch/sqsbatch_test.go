package sqsbatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// counting passes calls to the real client and counts their entries.
type counting struct {
	sqsbatch.API
	mu    sync.Mutex
	calls []int
}

func (c *counting) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.mu.Lock()
	c.calls = append(c.calls, len(in.Entries))
	c.mu.Unlock()
	return c.API.SendMessageBatch(ctx, in, optFns...)
}

// setup returns a client of the package's moto and a new queue's URL.
func setup(t *testing.T) (*sqs.Client, string) {
	t.Helper()
	client := sqs.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))
	return client, testkit.Queue(t, client, "q")
}

func attrs(m types.Message) map[string]string {
	out := map[string]string{}
	for k, v := range m.MessageAttributes {
		out[k] = aws.ToString(v.DataType) + ":" + aws.ToString(v.StringValue)
	}
	return out
}

func TestSendLandsInTheQueue(t *testing.T) {
	client, url := setup(t)
	msgs := []sqsbatch.Message{
		{Body: `{"name":"EmailSent"}`, Attributes: map[string]string{"reason": "body is not valid JSON", "source": "queue", "empty": ""}},
		{Body: "é and ✓"},
	}
	for i, err := range sqsbatch.Send(context.Background(), client, url, msgs, 1) {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	got := testkit.ReceiveAll(t, client, url)
	if len(got) != 2 {
		t.Fatalf("%d messages in the queue, want 2", len(got))
	}
	for i, want := range []map[string]string{
		{"reason": "String:body is not valid JSON", "source": "String:queue"},
		{},
	} {
		if b := aws.ToString(got[i].Body); b != msgs[i].Body {
			t.Errorf("message %d body %q, want %q", i, b, msgs[i].Body)
		}
		if a := attrs(got[i]); fmt.Sprint(a) != fmt.Sprint(want) {
			t.Errorf("message %d attributes %v, want %v (empty ones left out)", i, a, want)
		}
	}
}

func TestSendChunksAndKeepsOrder(t *testing.T) {
	client, url := setup(t)
	api := &counting{API: client}
	var msgs []sqsbatch.Message
	for i := range 25 {
		msgs = append(msgs, sqsbatch.Message{Body: fmt.Sprintf("m%02d", i), Attributes: map[string]string{"reason": "r"}})
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
	var se *sqsbatch.Error
	if !errors.Is(errs[28], sqsbatch.ErrTooLarge) || !errors.As(errs[28], &se) || !se.SenderFault {
		t.Fatalf("oversize message: %v, want ErrTooLarge blaming the sender", errs[28])
	}
	if got, want := fmt.Sprint(api.calls), "[10 10 7 1]"; got != want {
		t.Fatalf("calls carried %s entries, want %s", got, want)
	}
	got := testkit.ReceiveAll(t, client, url)
	if len(got) != 28 {
		t.Fatalf("%d messages in the queue, want 28 (the oversize one never sent)", len(got))
	}
	for i, m := range got {
		if b := aws.ToString(m.Body); b != msgs[i].Body {
			t.Fatalf("message %d in the queue is %.10q..., want %.10q...", i, b, msgs[i].Body)
		}
	}
}

func TestSendRetriesOnlyWhatSQSFailedOnItsSide(t *testing.T) {
	client, url := setup(t)
	api := &testkit.FaultySQS{SQS: client}
	sent := map[string]int{} // attempts per body
	api.SetFault(func(body string) *types.BatchResultErrorEntry {
		sent[body]++
		switch {
		case body == "throttled-once" && sent[body] == 1:
			return &types.BatchResultErrorEntry{Code: aws.String("InternalError"), Message: aws.String("try again")}
		case body == "always-down":
			return &types.BatchResultErrorEntry{Code: aws.String("InternalError"), Message: aws.String("down")}
		case body == "refused":
			return &types.BatchResultErrorEntry{Code: aws.String("InvalidMessageContents"), Message: aws.String("no"), SenderFault: true}
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
	if e, ok := errs[3].(*sqsbatch.Error); !ok || !e.SenderFault || e.Code != "InvalidMessageContents" {
		t.Fatalf("refused: %#v", errs[3])
	}
	if sent["always-down"] != 3 || sent["refused"] != 1 || sent["ok"] != 1 || sent["throttled-once"] != 2 {
		t.Fatalf("attempts: %v", sent)
	}
	var bodies []string
	for _, m := range testkit.ReceiveAll(t, client, url) {
		bodies = append(bodies, aws.ToString(m.Body))
	}
	if got := fmt.Sprint(bodies); got != "[ok throttled-once]" {
		t.Fatalf("queue holds %s, want [ok throttled-once]", got)
	}
}

// A call SQS refuses as a whole fails each of its messages with SQS's
// code, blames the sender, and is not sent again: retrying cannot make a
// missing queue appear.
func TestSendToAMissingQueue(t *testing.T) {
	client := sqs.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))
	api := &counting{API: client}
	url := testkit.Moto(t).Endpoint + "/" + moto.AccountID + "/" + testkit.UniqueName(t, "missing")
	var msgs []sqsbatch.Message
	for i := range 12 {
		msgs = append(msgs, sqsbatch.Message{Body: fmt.Sprint(i)})
	}
	errs := sqsbatch.Send(context.Background(), api, url, msgs, 3)
	if len(errs) != len(msgs) {
		t.Fatalf("%d errors for %d messages", len(errs), len(msgs))
	}
	for i, err := range errs {
		var se *sqsbatch.Error
		var missing *types.QueueDoesNotExist
		if !errors.As(err, &se) || !se.SenderFault || !errors.As(err, &missing) || se.Code != missing.ErrorCode() {
			t.Fatalf("message %d: %v, want QueueDoesNotExist blaming the sender", i, err)
		}
	}
	if got := fmt.Sprint(api.calls); got != "[10 2]" {
		t.Fatalf("calls carried %s entries, want [10 2], each sent once", got)
	}
}

// TestSendReportsWhatArrivedAltered puts a proxy in front of moto that
// alters the MD5 of one entry's body in the answer, as a body damaged in
// transit would show. The client fails the call, so no message of it is
// reported as queued (some may be twice, never none) and the call is not
// sent again.
func TestSendReportsWhatArrivedAltered(t *testing.T) {
	srv := testkit.Moto(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessageBatch" {
			return nil
		}
		var out map[string]any
		if err := json.NewDecoder(r.Body).Decode(&out); err != nil {
			return err
		}
		r.Body.Close()
		for _, e := range out["Successful"].([]any) {
			if e := e.(map[string]any); e["Id"] == "1" {
				e["MD5OfMessageBody"] = "00000000000000000000000000000000"
			}
		}
		b, _ := json.Marshal(out)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	ts := httptest.NewServer(proxy)
	t.Cleanup(ts.Close)
	cfg := testkit.AWSConfig(srv)
	cfg.BaseEndpoint = aws.String(ts.URL)
	client, queueURL := setup(t)
	api := &counting{API: sqs.NewFromConfig(cfg)}
	errs := sqsbatch.Send(context.Background(), api, queueURL, []sqsbatch.Message{{Body: "a"}, {Body: "b"}, {Body: "c"}}, 3)
	for i, err := range errs {
		var se *sqsbatch.Error
		if !errors.As(err, &se) || se.SenderFault || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("message %d: %v, want the checksum failure, not blaming the sender", i, err)
		}
	}
	if got := fmt.Sprint(api.calls); got != "[3]" {
		t.Fatalf("calls carried %s entries, want [3]", got)
	}
	if got := len(testkit.ReceiveAll(t, client, queueURL)); got != 3 {
		t.Fatalf("%d messages in the queue, want the 3 moto received", got)
	}
}
