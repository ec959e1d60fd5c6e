package testkit

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Queue creates a queue named for this test alone (UniqueName with prefix)
// and returns its URL.
func Queue(t testing.TB, client *sqs.Client, prefix string) string {
	t.Helper()
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(UniqueName(t, prefix))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

// ReceiveAll receives every message the queue holds, with its attributes,
// in the order SQS gives them. The messages stay invisible for the queue's
// visibility timeout, so a second call returns only those sent since.
func ReceiveAll(t testing.TB, client *sqs.Client, url string) []types.Message {
	t.Helper()
	var all []types.Message
	for {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		all = append(all, out.Messages...)
	}
}

// DLQ is a dead-letter queue in the package's moto.
type DLQ struct {
	Client *sqs.Client
	URL    string
}

// Letter is a message as read back from a DLQ: its body and its string
// attributes by name.
type Letter struct {
	Body       string
	Attributes map[string]string
}

// NewDLQ creates a dead-letter queue for this test in the package's moto.
func NewDLQ(t testing.TB) *DLQ {
	t.Helper()
	client := sqs.NewFromConfig(AWSConfig(Moto(t)))
	return &DLQ{Client: client, URL: Queue(t, client, "dlq")}
}

// Letters receives the letters that arrived since the last call, in the
// order they were sent (ReceiveAll).
func (q *DLQ) Letters(t testing.TB) []Letter {
	t.Helper()
	var all []Letter
	for _, m := range ReceiveAll(t, q.Client, q.URL) {
		l := Letter{Body: aws.ToString(m.Body), Attributes: map[string]string{}}
		for k, v := range m.MessageAttributes {
			l.Attributes[k] = aws.ToString(v.StringValue)
		}
		all = append(all, l)
	}
	return all
}

// BatchSender is the SQS call a batch sender makes; *sqs.Client has it.
type BatchSender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// FaultySQS passes SendMessageBatch calls on to SQS, all entries but those
// its fault picks, and answers for those as SQS does for an entry it
// refused: moto never fails a single entry on its side. Safe for concurrent
// use; the fault is called for one entry at a time, in order.
type FaultySQS struct {
	SQS BatchSender

	mu    sync.Mutex
	fault func(body string) *types.BatchResultErrorEntry
}

// SetFault sets what fails from now on: fault returns the error entry for a
// message body, or nil to send it. A nil fault fails nothing.
func (f *FaultySQS) SetFault(fault func(body string) *types.BatchResultErrorEntry) {
	f.mu.Lock()
	f.fault = fault
	f.mu.Unlock()
}

// SendMessageBatch sends the entries the fault lets through and adds the
// fault's error entries for the others to SQS's answer.
func (f *FaultySQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	pass := *in
	pass.Entries = nil
	var failed []types.BatchResultErrorEntry
	f.mu.Lock()
	for _, e := range in.Entries {
		if f.fault != nil {
			if r := f.fault(aws.ToString(e.MessageBody)); r != nil {
				r.Id = e.Id
				failed = append(failed, *r)
				continue
			}
		}
		pass.Entries = append(pass.Entries, e)
	}
	f.mu.Unlock()
	out := &sqs.SendMessageBatchOutput{}
	if len(pass.Entries) > 0 {
		var err error
		if out, err = f.SQS.SendMessageBatch(ctx, &pass, optFns...); err != nil {
			return nil, err
		}
	}
	out.Failed = append(out.Failed, failed...)
	return out, nil
}
