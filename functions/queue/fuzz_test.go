package queue_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/heraldrt/herald/functions/queue"
)

// FuzzUnwrap: any body unwraps to something or to a clear error, never a
// panic, and an unwrapped body is never longer than what it came in.
func FuzzUnwrap(f *testing.F) {
	for _, name := range []string{"sqs-email-sent.json", "sqs-sns-wrapped.json", "sqs-eventbridge-wrapped.json", "sqs-mixed-poison.json"} {
		var ev events.SQSEvent
		if err := json.Unmarshal(sampleF(f, name), &ev); err != nil {
			f.Fatal(err)
		}
		for _, r := range ev.Records {
			f.Add([]byte(r.Body))
		}
	}
	f.Add([]byte(`{"Type":"Notification","TopicArn":"a","Message":"{\"detail-type\":\"x\",\"source\":\"s\",\"detail\":\"\\\"\\\"\"}"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := queue.Unwrap(body)
		if err == nil && len(out) > len(body) {
			t.Fatalf("unwrapped %d bytes into %d", len(body), len(out))
		}
	})
}
