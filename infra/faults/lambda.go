package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/infra/moto"
)

// QueueLoop plays Lambda's SQS event source mapping with
// ReportBatchItemFailures, against a real SQS API (moto's): Concurrency
// workers receive batches of up to 10 messages, invoke the handler with
// the JSON event Lambda would send (through lambda.NewHandler, the
// runtime's own path), and delete the messages not listed as failures. A
// function error, or a failure naming a message not in the batch, leaves
// the whole batch. A message is deleted only when the function reported it
// handled.
//
// What is left stays on the queue, invisible for the queue's visibility
// timeout (the template's 180 s), and the queue's own redrive policy
// applies when it comes back: SQS, not the loop, moves a message received
// maxReceiveCount times to the dead-letter queue. The loop does not wait
// the timeout out: once nothing is visible and no invocation holds a batch,
// it sets the visibility of every message it left to 0 with
// ChangeMessageVisibility, the timeout passing brought forward to the
// first moment the function would otherwise sit idle. That changes when
// a failed message comes back, not whether or how often. The queue's
// timeout itself stays long, so a slow invocation never sees its messages
// handed to another worker while it runs, as the template's 6 times the
// function timeout ensures on Lambda.
type QueueLoop struct {
	// Client receives, deletes and changes visibility. Required.
	Client *sqs.Client
	// QueueURL is the queue to drain. Required.
	QueueURL string
	// Handler is the function's handler (queue.Handler.Handle). Required.
	Handler any
	// Concurrency is how many invocations run at once; default 4.
	Concurrency int
	// Timeout is each invocation's deadline; default 30 s.
	Timeout time.Duration
	// Sent, when set, is closed once the producer has sent every message
	// (Produce returned); until then an empty queue does not end the run.
	Sent <-chan struct{}

	// recv makes receives one at a time: moto's ReceiveMessage does not
	// lock the queue, so two at once can both take the same message, a
	// duplicate SQS does not make that way. Invocations still overlap.
	recv sync.Mutex

	mu       sync.Mutex
	cond     *sync.Cond
	running  int
	done     bool
	received map[string]int    // messageId -> invocations that carried it
	left     map[string]string // messageId -> receipt handle, for messages left invisible
	stats    LoopStats
}

// LoopStats count what a loop did.
type LoopStats struct {
	Invocations int
	// ItemFailures counts items reported in batchItemFailures.
	ItemFailures int
	// BatchErrors counts invocations that failed as a whole.
	BatchErrors int
	// Redeliveries counts items handed to the function again.
	Redeliveries int
	// Expiries counts the times the loop ended the visibility timeout of
	// the messages it had left (QueueLoop only).
	Expiries int
	// Gone counts messages left on the queue that were no longer there
	// when the loop ended their timeout: redriven after their own timeout
	// passed (QueueLoop only).
	Gone int
}

// Run drives the queue until it is empty or ctx ends.
func (l *QueueLoop) Run(ctx context.Context) (LoopStats, error) {
	if l.Concurrency == 0 {
		l.Concurrency = 4
	}
	if l.Timeout == 0 {
		l.Timeout = 30 * time.Second
	}
	l.cond = sync.NewCond(&l.mu)
	l.received = map[string]int{}
	l.left = map[string]string{}
	errc := make(chan error, l.Concurrency)
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.done = true
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	for range l.Concurrency {
		// One handler per worker: aws-lambda-go's Invoke returns bytes of
		// a pooled buffer that the next Invoke on the same handler may
		// reuse, so a handler must not serve two invocations at once.
		h := lambda.NewHandler(l.Handler)
		go func() { errc <- l.work(ctx, h) }()
	}
	var first error
	for range l.Concurrency {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats, first
}

// Received reports how many invocations carried each message id.
func (l *QueueLoop) Received() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.received)
}

func (l *QueueLoop) work(ctx context.Context, h lambda.Handler) error {
	for {
		l.mu.Lock()
		if l.done {
			l.mu.Unlock()
			return nil
		}
		l.running++
		l.mu.Unlock()

		n, err := l.once(ctx, h)

		l.mu.Lock()
		l.running--
		idle := false
		switch {
		case err != nil:
		case n > 0:
		case l.running == 0:
			// Nobody holds a batch and nothing is visible: what is left
			// waits out its visibility timeout, or the queue is empty.
			idle, err = l.expire(ctx)
		default:
			l.cond.Wait()
		}
		if err != nil {
			l.done = true
		}
		l.cond.Broadcast()
		l.mu.Unlock()
		if err != nil {
			return err
		}
		if idle {
			// Waiting for the producer (or for messages in flight that the
			// loop does not hold); poll again shortly.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// expire ends the visibility timeout of the messages the loop left on the
// queue or, with none left, ends the run once the producer is done and the
// queue is empty; idle reports that there was nothing to do yet. It runs
// with l.mu held and no invocation running, so no receive races it.
func (l *QueueLoop) expire(ctx context.Context) (idle bool, err error) {
	if len(l.left) == 0 {
		if l.Sent != nil {
			select {
			case <-l.Sent:
			default:
				return true, nil
			}
		}
		n, err := QueueDepth(ctx, l.Client, l.QueueURL)
		if err != nil {
			return false, err
		}
		if n == 0 {
			l.done = true
			return false, nil
		}
		// Messages in flight that the loop does not hold (a receive whose
		// answer was lost) come back when their own timeout passes.
		return true, nil
	}
	l.stats.Expiries++
	var entries []types.ChangeMessageVisibilityBatchRequestEntry
	var ids []string
	for id, handle := range l.left {
		entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String(fmt.Sprint(len(entries))), ReceiptHandle: aws.String(handle), VisibilityTimeout: 0,
		})
		ids = append(ids, id)
		delete(l.left, id)
	}
	for chunk := range slices.Chunk(entries, 10) {
		out, err := l.Client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(l.QueueURL), Entries: chunk})
		if err != nil {
			return false, fmt.Errorf("faults: ending the visibility timeout: %w", err)
		}
		for _, f := range out.Failed {
			i, _ := strconv.Atoi(aws.ToString(f.Id))
			if aws.ToString(f.Code) == "ReceiptHandleIsInvalid" {
				// The message left the queue: not deleted (the loop deletes
				// none it left), so its own timeout passed and the redrive
				// policy moved it. The suite finds it in the dead-letter
				// queue.
				l.stats.Gone++
				continue
			}
			return false, fmt.Errorf("faults: ending the visibility timeout of message %s (received %d times): %s: %s", ids[i], l.received[ids[i]], aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return false, nil
}

// QueueDepth is how many messages a queue holds, visible, in flight or
// delayed; exact on moto, approximate on SQS.
func QueueDepth(ctx context.Context, c *sqs.Client, url string) (int, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("faults: queue attributes of %s: %w", url, err)
	}
	total := 0
	for name, v := range out.Attributes {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("faults: queue attribute %s of %s is %q: %w", name, url, v, err)
		}
		total += n
	}
	return total, nil
}

// once receives one batch, invokes the function and deletes what
// succeeded; it returns how many messages it received.
func (l *QueueLoop) once(ctx context.Context, h lambda.Handler) (int, error) {
	// The SDK's retryer retries a failed receive or delete, as Lambda's
	// pollers do.
	l.recv.Lock()
	out, err := l.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(l.QueueURL),
		MaxNumberOfMessages:         10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	l.recv.Unlock()
	if err != nil {
		return 0, fmt.Errorf("faults: receive: %w", err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{}
	l.mu.Lock()
	for _, m := range out.Messages {
		id := aws.ToString(m.MessageId)
		// Came back on its own: the handle the loop held is stale.
		delete(l.left, id)
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:     id,
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			Md5OfBody:     aws.ToString(m.MD5OfBody),
			Attributes:    m.Attributes,
			EventSource:   "aws:sqs",
			AWSRegion:     moto.Region,
		})
	}
	l.mu.Unlock()
	payload, _ := json.Marshal(ev)
	ictx, cancel := context.WithTimeout(ctx, l.Timeout)
	res, ierr := h.Invoke(ictx, payload)
	cancel()

	inBatch := map[string]bool{}
	for _, r := range ev.Records {
		inBatch[r.MessageId] = true
	}
	keep := map[string]bool{}
	batchErr := ierr != nil
	if !batchErr {
		var resp events.SQSEventResponse
		if err := json.Unmarshal(res, &resp); err != nil {
			return 0, fmt.Errorf("faults: the function answered %q: %w", res, err)
		}
		for _, f := range resp.BatchItemFailures {
			if !inBatch[f.ItemIdentifier] {
				batchErr = true
				break
			}
			keep[f.ItemIdentifier] = true
		}
	}
	if batchErr {
		keep = inBatch
	}
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range out.Messages {
		if !keep[aws.ToString(m.MessageId)] {
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(del) > 0 {
		res, err := l.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(l.QueueURL), Entries: del})
		if err != nil {
			return 0, fmt.Errorf("faults: delete: %w", err)
		}
		if len(res.Failed) > 0 {
			f := res.Failed[0]
			return 0, fmt.Errorf("faults: delete: %d entries refused, first %s: %s", len(res.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}

	l.mu.Lock()
	l.stats.Invocations++
	if batchErr {
		l.stats.BatchErrors++
	} else {
		l.stats.ItemFailures += len(keep)
	}
	for _, m := range out.Messages {
		id := aws.ToString(m.MessageId)
		if keep[id] {
			l.left[id] = aws.ToString(m.ReceiptHandle)
		}
		if l.received[id] > 0 {
			l.stats.Redeliveries++
		}
		l.received[id]++
	}
	l.mu.Unlock()
	return len(out.Messages), nil
}

// Shard plays Lambda's DynamoDB stream event source mapping on one shard
// with ReportBatchItemFailures: batches of up to BatchSize records from
// the checkpoint, in sequence order, one invocation at a time. After an
// invocation the checkpoint moves past the batch when nothing failed, or
// to the lowest sequence number reported failed, so that record and every
// later one are sent again and none before it. A function error, or a
// failure naming a sequence number not in the batch, retries the batch:
// whole, or with Bisect (BisectBatchOnFunctionError, as the template sets
// it) its first half, halving again on each further error and back to
// BatchSize after a success. Retries are not bounded here (the template
// bounds them with MaximumRetryAttempts and an on-failure destination).
type Shard struct {
	// Records are the shard's records, in sequence order.
	Records []json.RawMessage
	// Seqs are their sequence numbers.
	Seqs []string
	// Handler is the function's handler (stream.Handler.Handle).
	Handler any
	// BatchSize defaults to 100.
	BatchSize int
	// Bisect halves the batch after a function error.
	Bisect bool
	// Timeout is each invocation's deadline; default 30 s.
	Timeout time.Duration

	// Starts records, per invocation, the index of its first record.
	Starts []int
	// Sent counts, per record index, the invocations that carried it.
	Sent []int
	// Reported counts, per record index, the times the function listed it
	// in batchItemFailures.
	Reported []int
	Stats    LoopStats
}

// Run drives the shard to its end or until ctx ends.
func (s *Shard) Run(ctx context.Context) error {
	if s.BatchSize == 0 {
		s.BatchSize = 100
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	s.Sent = make([]int, len(s.Records))
	s.Reported = make([]int, len(s.Records))
	h := lambda.NewHandler(s.Handler)
	index := make(map[string]int, len(s.Seqs))
	for i, q := range s.Seqs {
		index[q] = i
	}
	size := s.BatchSize
	for cp := 0; cp < len(s.Records); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(cp+size, len(s.Records))
		payload, _ := json.Marshal(map[string]any{"Records": s.Records[cp:end]})
		ictx, cancel := context.WithTimeout(ctx, s.Timeout)
		res, err := h.Invoke(ictx, payload)
		cancel()
		s.Stats.Invocations++
		s.Starts = append(s.Starts, cp)
		for i := cp; i < end; i++ {
			if s.Sent[i] > 0 {
				s.Stats.Redeliveries++
			}
			s.Sent[i]++
		}
		if err != nil {
			s.Stats.BatchErrors++
			if s.Bisect {
				size = max(1, (end-cp)/2)
			}
			continue
		}
		size = s.BatchSize
		var resp events.DynamoDBEventResponse
		if err := json.Unmarshal(res, &resp); err != nil {
			return fmt.Errorf("faults: the function answered %q: %w", res, err)
		}
		if len(resp.BatchItemFailures) == 0 {
			cp = end
			continue
		}
		failed := make([]int, 0, len(resp.BatchItemFailures))
		whole := false
		for _, f := range resp.BatchItemFailures {
			i, ok := index[f.ItemIdentifier]
			if !ok || i < cp || i >= end {
				whole = true
				break
			}
			failed = append(failed, i)
		}
		if whole {
			s.Stats.BatchErrors++
			if s.Bisect {
				size = max(1, (end-cp)/2)
			}
			continue
		}
		s.Stats.ItemFailures += len(failed)
		for _, i := range failed {
			s.Reported[i]++
		}
		sort.Ints(failed)
		cp = failed[0]
	}
	return nil
}
