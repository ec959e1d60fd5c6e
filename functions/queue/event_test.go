package queue_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/infra/testkit"
)

// DecodeEvent gives every record the messageId and body encoding/json
// gives it, on the samples and on events at the edges of the one-pass
// reader, and fails exactly when encoding/json fails.
func TestDecodeEventAgreesWithEncodingJSON(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join(testkit.RepoRoot(t), "events", "samples", "sqs-*.json"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no SQS samples: %v", err)
	}
	for _, path := range samples {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := agree(t, b); n == 0 {
			t.Errorf("%s: no records decoded", filepath.Base(path))
		}
	}
	for _, payload := range eventEdges {
		agree(t, []byte(payload))
	}
}

var eventEdges = []string{
	`{"Records":[]}`,
	`{}`,
	`{"Records":null}`,
	`{"records":[{"messageId":"a","body":"b"}]}`,
	`{"Records":[{"MessageId":"a","body":"b"}]}`,
	`{"Records":[{"messageId":"a","Body":"b"}]}`,
	`{"Records":[{"messageId":"a","body":"{\"name\":\"E\\u00e9\",\"x\":\"\ud83d\ude00\"}"}]}`,
	`{"Records":[{"messageId":"a","body":"x","body":"y"}]}`,
	`{"Records":[{"messageId":null,"body":"b"}]}`,
	`{"Records":[{"messageId":"a","body":"b","attributes":{"ApproximateReceiveCount":"1"},"messageAttributes":{}}],"extra":[1,2]}`,
	`{"Records":[{"messageId":"a","body":"b"},]}`,
	`{"Records":[{"messageId":"a","body":"b"}]} trailing`,
	`{"Records":[{"messageId":"a","body":"b"}]`,
	`{"Records":[{"messageId":1,"body":"b"}]}`,
	`[]`,
	``,
	"{\"Records\":[{\"messageId\":\"a\",\"body\":\"\xff\"}]}",
}

func FuzzDecodeEvent(f *testing.F) {
	for _, p := range eventEdges {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		agree(t, payload)
	})
}

func agree(t *testing.T, payload []byte) int {
	t.Helper()
	got, gerr := queue.DecodeEvent(payload)
	var want events.SQSEvent
	werr := json.Unmarshal(payload, &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: DecodeEvent error %v, encoding/json error %v", payload, gerr, werr)
	}
	if gerr != nil {
		return 0
	}
	if len(got.Records) != len(want.Records) {
		t.Fatalf("%q: %d records, encoding/json %d", payload, len(got.Records), len(want.Records))
	}
	for i := range got.Records {
		g, w := got.Records[i], want.Records[i]
		if g.MessageId != w.MessageId || g.Body != w.Body {
			t.Fatalf("%q: record %d = %q %q, encoding/json %q %q", payload, i, g.MessageId, g.Body, w.MessageId, w.Body)
		}
	}
	return len(got.Records)
}

// Invoke broadcasts through the driver and answers with the failures, and
// refuses an event encoding/json refuses.
func TestInvoke(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	h := handler(t, queue.Deps{Driver: driver(t, api), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	out, err := h.Invoke(t.Context(), []byte(`{"Records":[{"messageId":"m-1","body":"{\"name\":\"E\",\"channel\":\"private-a\",\"data\":{}}"},{"messageId":"m-2","body":"not json"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"batchItemFailures":[{"itemIdentifier":"m-2"}]}` {
		t.Fatalf("answer %s: want only m-2 (poison, no dead-letter queue)", out)
	}
	if reqs := api.Requests(); len(reqs) != 1 || len(reqs[0].Events) != 1 || strings.Join(reqs[0].Events[0].Channels, ",") != "private-a" {
		t.Fatalf("provider saw %+v, want one event on private-a", reqs)
	}
	if _, err := h.Invoke(t.Context(), []byte(`{"Records":[{"messageId":1}]}`)); err == nil {
		t.Fatal("a malformed event was accepted")
	}
}

// BenchmarkDecodeEvent_1000 decodes a 1,000-message SQS event as the event
// source mapping delivers it; BenchmarkDecodeEvent_1000_encodingJSON is
// what aws-lambda-go's reflection would spend on it.
func BenchmarkDecodeEvent_1000(b *testing.B) {
	payload := benchEvent(b, 1000)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if ev, err := queue.DecodeEvent(payload); err != nil || len(ev.Records) != 1000 {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEvent_1000_encodingJSON(b *testing.B) {
	payload := benchEvent(b, 1000)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) != 1000 {
			b.Fatal(err)
		}
	}
}

func benchEvent(b *testing.B, n int) []byte {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, n)}
	for i := range ev.Records {
		ev.Records[i] = events.SQSMessage{
			MessageId:      fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			ReceiptHandle:  fmt.Sprintf("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a%08d", i),
			Body:           fmt.Sprintf(`{"name":"OrderShipped","channels":["private-App.Models.User.%d"],"data":{"order_id":%d,"status":"shipped"}}`, i, i),
			Md5OfBody:      "e4e68fb7bd0e697a0ae8f1bb342846b3",
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000", "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1767225600000"},
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:herald-broadcast",
			AWSRegion:      "eu-west-1",
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return payload
}
