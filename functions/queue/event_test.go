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

// DecodeEvent reads every sample's records, with the messageId, body and
// SentTimestamp aws-lambda-go's reflection reads.
func TestDecodeEventSamples(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join(testkit.RepoRoot(t), "events", "samples", "sqs-*.json"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no SQS samples: %v", err)
	}
	for _, path := range samples {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := queue.DecodeEvent(b)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		var want events.SQSEvent
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if len(got.Records) == 0 || len(got.Records) != len(want.Records) {
			t.Fatalf("%s: %d records, want %d", filepath.Base(path), len(got.Records), len(want.Records))
		}
		for i, w := range want.Records {
			g := got.Records[i]
			if g.MessageID != w.MessageId || g.Body != w.Body || g.Attributes.SentTimestamp != w.Attributes["SentTimestamp"] {
				t.Errorf("%s: record %d = %q %q %q, want %q %q %q", filepath.Base(path), i, g.MessageID, g.Body, g.Attributes.SentTimestamp,
					w.MessageId, w.Body, w.Attributes["SentTimestamp"])
			}
		}
	}
}

// What DecodeEvent accepts and refuses, where encoding/json/v2 and the
// encoding/json aws-lambda-go uses differ in particular: member names
// match exactly, a repeated name is refused, and invalid UTF-8 is replaced
// rather than refused, so one record cannot fail its batch.
func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		payload string
		want    []string // messageId, body pairs; nil: refused
	}{
		{`{"Records":[]}`, []string{}},
		{`{}`, []string{}},
		{`{"Records":null}`, []string{}},
		{`{"Records":[{"messageId":"a","body":"b","attributes":{"ApproximateReceiveCount":"1"},"messageAttributes":{}}],"extra":[1,2]}`, []string{"a", "b"}},
		{`{"Records":[{"messageId":"a","body":"{\"name\":\"E\u00e9\",\"x\":\"\ud83d\ude00\"}"}]}`, []string{"a", `{"name":"Eé","x":"😀"}`}},
		{`{"Records":[{"messageId":null,"body":"b"}]}`, []string{"", "b"}},
		{"{\"Records\":[{\"messageId\":\"a\",\"body\":\"x\xffy\"}]}", []string{"a", "x\uFFFDy"}},
		// Lambda spells the names one way; another spelling is not them.
		{`{"records":[{"messageId":"a","body":"b"}]}`, []string{}},
		{`{"Records":[{"MessageId":"a","Body":"b"}]}`, []string{"", ""}},
		{`{"Records":[{"messageId":"a","body":"x","body":"y"}]}`, nil},
		{`{"Records":[{"messageId":"a","body":"b"}],"Records":[]}`, nil},
		{`{"Records":[{"messageId":"a","body":"b"},]}`, nil},
		{`{"Records":[{"messageId":"a","body":"b"}]} trailing`, nil},
		{`{"Records":[{"messageId":"a","body":"b"}]`, nil},
		{`{"Records":[{"messageId":1,"body":"b"}]}`, nil},
		{`{"Records":[{"messageId":"a","body":1}]}`, nil},
		{`{"Records":[{"messageId":"a","body":{"name":"E"}}]}`, nil},
		{`{"Records":[{"messageId":"a","body":null}]}`, []string{"a", ""}},
		{`{"Records":[{"messageId":"a","body":"\u00e9\n\"x\"\\"}]}`, []string{"a", "é\n\"x\"\\"}},
		{`{"Records":{}}`, nil},
		{`[]`, nil},
		{``, nil},
	}
	for _, tt := range tests {
		ev, err := queue.DecodeEvent([]byte(tt.payload))
		if tt.want == nil {
			if err == nil {
				t.Errorf("%q: accepted %+v", tt.payload, ev.Records)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.payload, err)
			continue
		}
		var got []string
		for _, r := range ev.Records {
			got = append(got, r.MessageID, r.Body)
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("%q: records %q, want %q", tt.payload, got, tt.want)
		}
	}
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
// what aws-lambda-go's decoding of every field would spend on it.
func BenchmarkDecodeEvent_1000(b *testing.B) {
	payload := benchEvent(b, 1000)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
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
