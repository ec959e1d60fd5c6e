package testkit

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func sendBodies(t *testing.T, api BatchSender, url string, bodies ...string) *sqs.SendMessageBatchOutput {
	t.Helper()
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(url)}
	for i, b := range bodies {
		in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{
			Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(b),
			MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("String"), StringValue: aws.String(fmt.Sprint(i))}},
		})
	}
	out, err := api.SendMessageBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestQueueReceiveAll gives each call its own queue and reads back more
// messages than one ReceiveMessage returns, attributes included, once.
func TestQueueReceiveAll(t *testing.T) {
	client := sqs.NewFromConfig(AWSConfig(Moto(t)))
	url := Queue(t, client, "q")
	if other := Queue(t, client, "q"); other == url {
		t.Fatalf("two queues share %s", url)
	}
	var want []string
	for i := range 13 {
		want = append(want, fmt.Sprintf("m%02d", i))
	}
	sendBodies(t, client, url, want[:10]...)
	sendBodies(t, client, url, want[10:]...)
	got := ReceiveAll(t, client, url)
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, aws.ToString(m.Body))
		if m.MessageAttributes["n"].StringValue == nil {
			t.Errorf("%s arrived without its attribute", aws.ToString(m.Body))
		}
	}
	slices.Sort(bodies)
	if !slices.Equal(bodies, want) {
		t.Fatalf("received %v, want %v", bodies, want)
	}
	if again := ReceiveAll(t, client, url); len(again) != 0 {
		t.Fatalf("a second read received %d messages, want none", len(again))
	}
}

func TestDLQLetters(t *testing.T) {
	q := NewDLQ(t)
	sendBodies(t, q.Client, q.URL, "not json")
	got := q.Letters(t)
	if len(got) != 1 || got[0].Body != "not json" || got[0].Attributes["n"] != "0" {
		t.Fatalf("letters %+v, want the one sent with n=0", got)
	}
	if got := q.Letters(t); len(got) != 0 {
		t.Fatalf("a second read received %+v, want nothing", got)
	}
}

// TestFaultySQS fails the entries its fault picks, with the entry's id, and
// sends the others.
func TestFaultySQS(t *testing.T) {
	client := sqs.NewFromConfig(AWSConfig(Moto(t)))
	url := Queue(t, client, "q")
	f := &FaultySQS{SQS: client}
	f.SetFault(func(body string) *types.BatchResultErrorEntry {
		if body == "bad" {
			return &types.BatchResultErrorEntry{Code: aws.String("InternalError"), Message: aws.String("down")}
		}
		return nil
	})
	out := sendBodies(t, f, url, "ok", "bad")
	if len(out.Successful) != 1 || aws.ToString(out.Successful[0].Id) != "0" {
		t.Fatalf("successful %+v, want entry 0", out.Successful)
	}
	if len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "1" || aws.ToString(out.Failed[0].Code) != "InternalError" {
		t.Fatalf("failed %+v, want entry 1 with InternalError", out.Failed)
	}
	if got := ReceiveAll(t, client, url); len(got) != 1 || aws.ToString(got[0].Body) != "ok" {
		t.Fatalf("queue holds %d messages, want only ok", len(got))
	}

	// Every entry failed: SQS is not called.
	out = sendBodies(t, f, "http://127.0.0.1:1/no-queue", "bad")
	if len(out.Failed) != 1 || len(out.Successful) != 0 {
		t.Fatalf("all-failed batch answered %+v", out)
	}

	f.SetFault(nil)
	sendBodies(t, f, url, "bad")
	if got := ReceiveAll(t, client, url); len(got) != 1 || aws.ToString(got[0].Body) != "bad" {
		t.Fatalf("without a fault the queue holds %d messages, want bad", len(got))
	}
}
