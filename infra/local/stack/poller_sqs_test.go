package stack

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	awssqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestPollerPartialBatch drives the poller with a function that reports
// one message of each batch as failed, the way the QueueFunction reports a
// temporary failure: the others are deleted at once, the failed one comes
// back after the visibility timeout and goes to the DLQ after its fifth
// receive (moto's redrive, as SQS's). The events carry what Lambda's
// event source mapping puts in. It runs on a queue of its own in the
// package's shared moto.
func TestPollerPartialBatch(t *testing.T) {
	ctx := context.Background()
	client := sqs.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))
	dlqURL, dlqARN, err := createQueue(ctx, client, testkit.UniqueName(t, "dlq"), nil)
	if err != nil {
		t.Fatal(err)
	}
	url, arn, err := createQueue(ctx, client, testkit.UniqueName(t, "work"), map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":5}`, dlqARN),
	})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var seen []events.SQSMessage
	fn := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			seen = append(seen, r)
			if r.Body == "fail" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}
	p := &sqsPoller{client: client, queueURL: url, queueARN: arn, region: "us-east-1", mapping: SQSMapping{BatchSize: 10},
		handle: lambda.NewHandler(fn), log: slog.New(slog.DiscardHandler)}

	for _, body := range []string{"ok-1", "fail", "ok-2"} {
		_, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body),
			MessageAttributes: map[string]awssqstypes.MessageAttributeValue{"trace": {DataType: aws.String("String"), StringValue: aws.String(body)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	defer func() { cancel(); <-done }()

	count := func(url string) int {
		out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []awssqstypes.QueueAttributeName{awssqstypes.QueueAttributeNameApproximateNumberOfMessages, awssqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
		b, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
		return a + b
	}
	eventually(t, 60*time.Second, func() (bool, string) {
		return count(dlqURL) == 1, fmt.Sprintf("%+v; work queue %d", p.Stats(), count(url))
	})
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL),
		MessageSystemAttributeNames: []awssqstypes.MessageSystemAttributeName{awssqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("reading the DLQ: %v, %d messages", err, len(out.Messages))
	}
	// Five receives by the poller, then this one.
	if dl := out.Messages[0]; aws.ToString(dl.Body) != "fail" || dl.Attributes["ApproximateReceiveCount"] != "6" {
		t.Errorf("DLQ holds %q received %s times, want the failing message received 5 times before this read", aws.ToString(dl.Body), dl.Attributes["ApproximateReceiveCount"])
	}
	if n := count(url); n != 0 {
		t.Errorf("%d messages left on the work queue", n)
	}
	if s := p.Stats(); s.Deleted != 2 || s.Failed != 5 || s.BatchErrs != 0 {
		t.Errorf("stats %+v: want the 2 good messages deleted and 5 reported failures", s)
	}

	mu.Lock()
	defer mu.Unlock()
	receives := map[string]int{}
	for _, r := range seen {
		receives[r.Body]++
		if r.EventSource != "aws:sqs" || r.EventSourceARN != arn || r.AWSRegion != "us-east-1" || r.ReceiptHandle == "" || r.Md5OfBody == "" {
			t.Errorf("record lacks Lambda's fields: %+v", r)
		}
		if r.Attributes["ApproximateReceiveCount"] == "" || r.Attributes["SentTimestamp"] == "" || r.Attributes["ApproximateFirstReceiveTimestamp"] == "" || r.Attributes["SenderId"] == "" {
			t.Errorf("record attributes %v lack the system attributes", r.Attributes)
		}
		if a := r.MessageAttributes["trace"]; a.StringValue == nil || *a.StringValue != r.Body || a.DataType != "String" || r.Md5OfMessageAttributes == "" {
			t.Errorf("message attributes %+v", r.MessageAttributes)
		}
	}
	if got := fmt.Sprint(receives); !strings.Contains(got, "fail:5") || !strings.Contains(got, "ok-1:1") || !strings.Contains(got, "ok-2:1") {
		t.Errorf("deliveries per message %v, want the failing one 5 times and the others once", receives)
	}
}
