package sqs_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/heraldrt/herald/infra/sqs"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func start(t *testing.T) (*sqs.Server, *awssqs.Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1795000000, 0)}
	srv := sqs.New(sqs.Config{Now: clk.Now})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, sqs.Client(ts.URL), clk
}

func TestSendReceiveDeleteWithTheSDK(t *testing.T) {
	srv, c, clk := start(t)
	ctx := context.Background()
	created, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("broadcast"), Attributes: map[string]string{"VisibilityTimeout": "60"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("broadcast")})
	if err != nil || aws.ToString(got.QueueUrl) != aws.ToString(created.QueueUrl) {
		t.Fatalf("GetQueueUrl = %v, %v; want %s", aws.ToString(got.QueueUrl), err, aws.ToString(created.QueueUrl))
	}
	url := created.QueueUrl

	// The SDK checks MD5OfMessageBody; a wrong one would fail these calls.
	if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(`{"name":"EmailSent"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"reason": {DataType: aws.String("String"), StringValue: aws.String("bad channel")},
			"blob":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")},
		{Id: aws.String("b"), MessageBody: aws.String("two")},
		{Id: aws.String("c"), MessageBody: aws.String("three"), MessageAttributes: map[string]types.MessageAttributeValue{"empty": {DataType: aws.String("String"), StringValue: aws.String("")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "c" || !out.Failed[0].SenderFault {
		t.Fatalf("SendMessageBatch = %+v / %+v", out.Successful, out.Failed)
	}

	if n := len(srv.Messages("broadcast")); n != 3 {
		t.Fatalf("Messages = %d, want 3", n)
	}
	recv, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recv.Messages) != 3 {
		t.Fatalf("received %d messages, want 3", len(recv.Messages))
	}
	first := recv.Messages[0]
	if aws.ToString(first.Body) != `{"name":"EmailSent"}` || aws.ToString(first.MessageAttributes["reason"].StringValue) != "bad channel" ||
		string(first.MessageAttributes["blob"].BinaryValue) != "\x00\x01\x02" || first.Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first message = %+v", first)
	}
	// In flight: nothing more to receive until the visibility timeout ends.
	again, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10})
	if err != nil || len(again.Messages) != 0 {
		t.Fatalf("second receive = %d messages, %v; want none in flight", len(again.Messages), err)
	}
	if _, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: first.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	clk.Add(61 * time.Second)
	again, err = c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10, AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil || len(again.Messages) != 2 {
		t.Fatalf("after visibility timeout: %d messages, %v; want 2", len(again.Messages), err)
	}
	if again.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("receive count = %q, want 2", again.Messages[0].Attributes["ApproximateReceiveCount"])
	}
	del, err := c.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: url, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("1"), ReceiptHandle: again.Messages[0].ReceiptHandle},
		{Id: aws.String("2"), ReceiptHandle: again.Messages[1].ReceiptHandle},
	}})
	if err != nil || len(del.Successful) != 2 {
		t.Fatalf("DeleteMessageBatch = %+v, %v", del, err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "0" || attrs.Attributes["VisibilityTimeout"] != "60" {
		t.Fatalf("GetQueueAttributes = %v, %v", attrs.Attributes, err)
	}
}

func TestErrorsAsTheSDKSeesThem(t *testing.T) {
	_, c, _ := start(t)
	ctx := context.Background()
	_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String("http://x/000000000000/missing"), MessageBody: aws.String("x")})
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("send to a missing queue: %v, want *types.QueueDoesNotExist", err)
	}
	q, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("q")})
	if err != nil {
		t.Fatal(err)
	}
	entries := make([]types.SendMessageBatchRequestEntry, 11)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(string(rune('a' + i))), MessageBody: aws.String("x")}
	}
	_, err = c.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries})
	var tooMany *types.TooManyEntriesInBatchRequest
	if !errors.As(err, &tooMany) {
		t.Fatalf("11 entries: %v, want TooManyEntriesInBatchRequest", err)
	}
	_, err = c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(strings.Repeat("x", sqs.MaxMessageBytes+1))})
	if err == nil || !strings.Contains(err.Error(), "shorter than") {
		t.Fatalf("oversize message: %v", err)
	}
}

func TestRedriveToDeadLetterQueue(t *testing.T) {
	srv, c, clk := start(t)
	ctx := context.Background()
	if _, err := srv.CreateQueue("dlq", nil); err != nil {
		t.Fatal(err)
	}
	url, err := srv.CreateQueue("main", map[string]string{"VisibilityTimeout": "30", "RedrivePolicy": `{"deadLetterTargetArn":"` + srv.ARN("dlq") + `","maxReceiveCount":"2"}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("poison")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[i <= 2]; len(out.Messages) != want {
			t.Fatalf("receive %d: %d messages, want %d", i, len(out.Messages), want)
		}
		clk.Add(31 * time.Second)
	}
	if got := srv.Messages("dlq"); len(got) != 1 || got[0].Body != "poison" || got[0].ReceiveCount != 2 {
		t.Fatalf("dlq = %+v", got)
	}
	if got := srv.Messages("main"); len(got) != 0 {
		t.Fatalf("main still has %d", len(got))
	}
}

func TestLongPollWakesOnSend(t *testing.T) {
	srv, c, _ := start(t)
	url, _ := srv.CreateQueue("q", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan *awssqs.ReceiveMessageOutput, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
	select {
	case out := <-done:
		// The receive may have started after the send (then it finds the
		// message at once) or before (then the send wakes it): one message
		// either way.
		if out == nil || len(out.Messages) != 1 {
			t.Fatalf("long poll got %+v", out)
		}
	case <-ctx.Done():
		t.Fatal("long poll never returned")
	}
}

func TestChangeMessageVisibility(t *testing.T) {
	srv, c, _ := start(t)
	ctx := context.Background()
	url, _ := srv.CreateQueue("q", map[string]string{"VisibilityTimeout": "300"})
	if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("retry me")}); err != nil {
		t.Fatal(err)
	}
	first, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	if err != nil || len(first.Messages) != 1 {
		t.Fatalf("receive: %v %v", first, err)
	}
	if _, err := c.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	again, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if err != nil || len(again.Messages) != 1 || again.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after visibility 0: %+v %v", again, err)
	}
	// The old receipt handle no longer holds the message.
	_, err = c.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first.Messages[0].ReceiptHandle, VisibilityTimeout: 10})
	var notInflight *types.MessageNotInflight
	if !errors.As(err, &notInflight) {
		t.Fatalf("stale handle: %v, want MessageNotInflight", err)
	}
}
