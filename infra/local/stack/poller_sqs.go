package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// pollWait is the long-poll wait of each receive, Lambda's.
const pollWait = 20

// lambdaAttributes are the system attributes Lambda's SQS event records
// carry.
var lambdaAttributes = []types.MessageSystemAttributeName{
	types.MessageSystemAttributeNameApproximateReceiveCount,
	types.MessageSystemAttributeNameSentTimestamp,
	types.MessageSystemAttributeNameSenderId,
	types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp,
	types.MessageSystemAttributeNameAWSTraceHeader,
}

// maxPayload stops a batch from growing once its bodies reach it, a rough
// stand-in for Lambda's 6 MB limit on an invocation's event (checked
// between receives, bodies only).
const maxPayload = 5 << 20

// sqsPoller does for the broadcast queue what Lambda's SQS event source
// mapping does for the deployed one: it long-polls the queue, gathers a
// batch (up to the mapping's batch size, within its batching window),
// hands it to the QueueFunction as the JSON event Lambda would send, and
// deletes the messages that succeeded. With ReportBatchItemFailures,
// messages the function lists in batchItemFailures stay on the queue and
// come back after the visibility timeout; a function error, or a failure
// naming a message not in the batch, leaves the whole batch there. The
// queue's redrive policy, in moto as in SQS, moves a message to the DLQ
// after maxReceiveCount receives.
type sqsPoller struct {
	client   *sqs.Client
	queueURL string
	queueARN string
	region   string
	mapping  SQSMapping
	handle   lambda.Handler
	log      *slog.Logger

	mu    sync.Mutex
	stats PollerStats
}

// PollerStats count what the poller has done since start-up.
type PollerStats struct {
	Batches   int `json:"batches"`
	Messages  int `json:"messages"`
	Deleted   int `json:"deleted"`
	Failed    int `json:"failed"`       // listed in batchItemFailures
	BatchErrs int `json:"batch_errors"` // the whole batch failed
}

// run polls until ctx ends. The batch in hand when it ends is finished
// first, within its own deadline.
func (p *sqsPoller) run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		msgs, err := p.gather(ctx)
		if len(msgs) > 0 {
			// A shutdown does not cut a batch short: like Lambda, the
			// invocation runs to its own deadline.
			p.deliver(context.WithoutCancel(ctx), msgs)
		}
		if err != nil && ctx.Err() == nil {
			p.log.Error("receiving from the broadcast queue", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
		}
	}
}

// gather long-polls for a first message, then keeps receiving until the
// batch is full, the batching window has passed since that first message,
// or the batch nears Lambda's payload limit.
func (p *sqsPoller) gather(ctx context.Context) ([]types.Message, error) {
	var msgs []types.Message
	var deadline time.Time
	size := 0
	for len(msgs) < p.mapping.BatchSize && size < maxPayload {
		wait := int32(0)
		if len(msgs) == 0 {
			wait = pollWait
		} else if !time.Now().Before(deadline) {
			break
		}
		out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.queueURL),
			MaxNumberOfMessages:         int32(min(10, p.mapping.BatchSize-len(msgs))),
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: lambdaAttributes,
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return msgs, err
		}
		if len(msgs) == 0 {
			deadline = time.Now().Add(p.mapping.BatchingWindow)
		}
		for _, m := range out.Messages {
			size += len(aws.ToString(m.Body))
		}
		msgs = append(msgs, out.Messages...)
		if len(out.Messages) == 0 && len(msgs) > 0 {
			select {
			case <-ctx.Done():
				return msgs, nil
			case <-time.After(min(100*time.Millisecond, time.Until(deadline))):
			}
		}
	}
	return msgs, nil
}

// deliver invokes the function with one batch and deletes what succeeded.
func (p *sqsPoller) deliver(ctx context.Context, msgs []types.Message) {
	ev := p.event(msgs)
	payload, err := json.Marshal(ev)
	if err != nil {
		p.log.Error("encoding the SQS event", "err", err)
		return
	}
	ictx, cancel := context.WithTimeout(ctx, FunctionTimeout)
	defer cancel()
	start := time.Now()
	out, err := invoke(ictx, p.handle, payload)
	keep, reason := p.failures(ev, out, err)
	p.log.Info("QueueFunction invoked", "messages", len(msgs), "failed", len(keep),
		"duration_ms", time.Since(start).Milliseconds(), "reason", reason)

	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if keep[aws.ToString(m.MessageId)] {
			continue
		}
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
	}
	deleted := 0
	if len(del) > 0 {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := p.client.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: del})
		cancel()
		if err != nil {
			p.log.Error("deleting processed messages (they will be delivered again)", "err", err)
		} else {
			deleted = len(res.Successful)
			for _, f := range res.Failed {
				p.log.Error("deleting a processed message", "id", aws.ToString(f.Id), "code", aws.ToString(f.Code))
			}
		}
	}
	p.mu.Lock()
	p.stats.Batches++
	p.stats.Messages += len(msgs)
	p.stats.Deleted += deleted
	if reason == "" {
		p.stats.Failed += len(keep)
	} else {
		p.stats.BatchErrs++
	}
	p.mu.Unlock()
}

// failures returns the message ids to leave on the queue, and why the whole
// batch failed when it did.
func (p *sqsPoller) failures(ev events.SQSEvent, out []byte, err error) (map[string]bool, string) {
	all := func() map[string]bool {
		m := make(map[string]bool, len(ev.Records))
		for _, r := range ev.Records {
			m[r.MessageId] = true
		}
		return m
	}
	if err != nil {
		return all(), "function error: " + err.Error()
	}
	var resp events.SQSEventResponse
	if len(out) > 0 && string(out) != "null" {
		if err := json.Unmarshal(out, &resp); err != nil {
			return all(), "response is not an SQSEventResponse: " + err.Error()
		}
	}
	inBatch := all()
	keep := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !inBatch[f.ItemIdentifier] {
			// Lambda treats an unknown or empty identifier as a failure of
			// the whole batch.
			return inBatch, fmt.Sprintf("batchItemFailures names %q, which is not in the batch", f.ItemIdentifier)
		}
		keep[f.ItemIdentifier] = true
	}
	return keep, ""
}

// event builds the SQS event Lambda would send for msgs.
func (p *sqsPoller) event(msgs []types.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		r := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             m.Attributes,
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         p.queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              p.region,
		}
		if r.Attributes == nil {
			r.Attributes = map[string]string{}
		}
		for k, a := range m.MessageAttributes {
			r.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue:      a.StringValue,
				BinaryValue:      a.BinaryValue,
				StringListValues: a.StringListValues,
				BinaryListValues: a.BinaryListValues,
				DataType:         aws.ToString(a.DataType),
			}
		}
		ev.Records = append(ev.Records, r)
	}
	return ev
}

// Stats returns the counters so far.
func (p *sqsPoller) Stats() PollerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}
