package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestQueueLoopRedrive checks the loop against moto's redrive policy: a
// message the function always reports failed is never deleted, comes back
// after each visibility timeout the loop ends, and SQS moves it to the
// dead-letter queue once it was received maxReceiveCount times (the
// template's 5); the rest are deleted after one receive.
func TestQueueLoopRedrive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := sqs.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))
	dlqURL, dlqARN := createQueue(t, ctx, client, testkit.UniqueName(t, "dlq"), nil)
	qURL, _ := createQueue(t, ctx, client, testkit.UniqueName(t, "q"), map[string]string{
		"VisibilityTimeout": "180",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":5}`, dlqARN),
	})
	var bodies []string
	for i := range 25 {
		body := fmt.Sprint("ok ", i)
		if i%10 == 3 {
			body = fmt.Sprint("fail ", i)
		}
		bodies = append(bodies, body)
	}
	if err := Produce(ctx, client, qURL, bodies, 0); err != nil {
		t.Fatal(err)
	}
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, r := range ev.Records {
			if r.Body[:4] == "fail" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}
	loop := &QueueLoop{Client: client, QueueURL: qURL, Handler: handler}
	stats, err := loop.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Expiries != 5 {
		t.Errorf("the loop ended visibility timeouts %d times, want 5 (one per failed receive)", stats.Expiries)
	}
	if n := depth(t, ctx, client, qURL); n != 0 {
		t.Errorf("%d messages left on the queue", n)
	}
	received := loop.Received()
	letters := drain(t, ctx, client, dlqURL)
	redriven := map[string]bool{}
	for _, m := range letters {
		id, body := aws.ToString(m.MessageId), aws.ToString(m.Body)
		redriven[id] = true
		if body[:4] != "fail" {
			t.Errorf("%q was redriven", body)
		}
		if received[id] != 5 {
			t.Errorf("%q was handed to the function %d times before its redrive, want maxReceiveCount, 5", body, received[id])
		}
	}
	if len(letters) != 3 {
		t.Errorf("%d messages redriven, want the 3 that always fail", len(letters))
	}
	for id, n := range received {
		if !redriven[id] && n != 1 {
			t.Errorf("message %s handed to the function %d times, want once", id, n)
		}
	}
}
