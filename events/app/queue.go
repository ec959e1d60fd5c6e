package app

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/shared/sqsbatch"
)

// SQS is the part of the SQS client Queue uses; *sqs.Client implements it.
type SQS interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	sqsbatch.API
}

var _ SQS = (*sqs.Client)(nil)

// Queue sends triggers to herald's broadcast queue (the stack's output
// BroadcastQueueUrl), which the QueueFunction reads.
type Queue struct {
	// SQS is the client. Required.
	SQS SQS
	// URL is the queue's URL. Required.
	URL string
	// Attempts is how many times SendBatch sends an entry SQS failed
	// without blaming it (throttling); default 3. The client's retryer
	// retries whole calls on its own.
	Attempts int
}

// ErrTooLarge is wrapped when a message is over SQS's 256 KiB.
var ErrTooLarge = sqsbatch.ErrTooLarge

// Send validates t and sends it as one message.
func (q Queue) Send(ctx context.Context, t Trigger) error {
	body, err := t.Body()
	if err != nil {
		return err
	}
	if len(body) > sqsbatch.MaxBytes {
		return fmt.Errorf("app: %d bytes: %w", len(body), ErrTooLarge)
	}
	if _, err := q.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("app: sending to %s: %w", q.URL, err)
	}
	return nil
}

// SendBatch validates each trigger and sends them as one message each,
// ten (or fewer, to stay within 256 KiB) per SendMessageBatch call. It
// returns one error per trigger, nil for each one SQS accepted; nothing is
// sent for a trigger that does not validate.
func (q Queue) SendBatch(ctx context.Context, ts []Trigger) []error {
	errs := make([]error, len(ts))
	msgs := make([]sqsbatch.Message, 0, len(ts))
	idx := make([]int, 0, len(ts))
	for i, t := range ts {
		body, err := t.Body()
		if err != nil {
			errs[i] = err
			continue
		}
		msgs = append(msgs, sqsbatch.Message{Body: string(body)})
		idx = append(idx, i)
	}
	attempts := q.Attempts
	if attempts == 0 {
		attempts = 3
	}
	for n, err := range sqsbatch.Send(ctx, q.SQS, q.URL, msgs, attempts) {
		if err != nil {
			errs[idx[n]] = fmt.Errorf("app: sending to %s: %w", q.URL, err)
		}
	}
	return errs
}
