package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/infra/sqs"
)

// Clock is a settable clock for the in-memory SQS: the queue loop moves it
// past the visibility timeout when only invisible messages are left,
// instead of waiting for real.
type Clock struct{ off atomic.Int64 }

// Now is the clock's time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// QueueLoop plays Lambda's SQS event source mapping with
// ReportBatchItemFailures: Concurrency workers receive batches of up to 10
// messages through the SQS API, invoke the handler with the JSON event
// Lambda would send (through lambda.NewHandler, the runtime's own path),
// and delete the messages not listed as failures. A function error, or a
// failure naming a message not in the batch, leaves the whole batch. What
// is left comes back once its visibility timeout passed, and the queue's
// redrive policy applies.
type QueueLoop struct {
	SQS      *sqs.Server
	Client   *awssqs.Client
	Clock    *Clock
	QueueURL string
	// Visibility is the queue's visibility timeout; the clock moves by it.
	Visibility time.Duration
	// Handler is the function's handler (queue.Handler.Handle).
	Handler any
	// Concurrency is how many invocations run at once; default 4.
	Concurrency int
	// Timeout is each invocation's deadline; default 30 s.
	Timeout time.Duration

	mu       sync.Mutex
	cond     *sync.Cond
	running  int
	done     bool
	received map[string]int // messageId -> invocations that carried it
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
	// ReceiveErrors counts failed receives (retried).
	ReceiveErrors int
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
	out := make(map[string]int, len(l.received))
	for k, v := range l.received {
		out[k] = v
	}
	return out
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
		switch {
		case err != nil:
			l.done = true
		case n > 0:
		case len(l.SQS.Messages(queueName(l.QueueURL))) == 0:
			l.done = true
		case l.running == 0:
			// Nobody holds a batch and nothing is visible: what is left
			// waits out its visibility timeout.
			l.Clock.Advance(l.Visibility + time.Second)
		default:
			l.cond.Wait()
		}
		l.cond.Broadcast()
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// once receives one batch, invokes the function and deletes what
// succeeded; it returns how many messages it received.
func (l *QueueLoop) once(ctx context.Context, h lambda.Handler) (int, error) {
	// Lambda's pollers retry a failed receive; so does this one, a few
	// times, since a loopback connection can still be reset under load.
	var out *awssqs.ReceiveMessageOutput
	var err error
	for attempt := range 5 {
		out, err = l.Client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(l.QueueURL),
			MaxNumberOfMessages:         10,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err == nil || ctx.Err() != nil {
			break
		}
		l.mu.Lock()
		l.stats.ReceiveErrors++
		l.mu.Unlock()
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	if err != nil {
		return 0, fmt.Errorf("faults: receive: %w", err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:     aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          aws.ToString(m.Body),
			Md5OfBody:     aws.ToString(m.MD5OfBody),
			Attributes:    m.Attributes,
			EventSource:   "aws:sqs",
			AWSRegion:     "us-east-1",
		})
	}
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
		// Retried like the receive: a delete lost here would redeliver
		// messages that were handled, which is at-least-once behaviour the
		// suite measures elsewhere, not a fault it injects.
		var res *awssqs.DeleteMessageBatchOutput
		var err error
		for attempt := range 5 {
			res, err = l.Client.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(l.QueueURL), Entries: del})
			if err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
		}
		if err != nil {
			return 0, fmt.Errorf("faults: delete: %w", err)
		}
		if len(res.Failed) > 0 {
			return 0, fmt.Errorf("faults: delete refused %d entries", len(res.Failed))
		}
	}

	l.mu.Lock()
	l.stats.Invocations++
	if batchErr {
		l.stats.BatchErrors++
	} else {
		l.stats.ItemFailures += len(keep)
	}
	for _, r := range ev.Records {
		if l.received[r.MessageId] > 0 {
			l.stats.Redeliveries++
		}
		l.received[r.MessageId]++
	}
	l.mu.Unlock()
	return len(out.Messages), nil
}

func queueName(url string) string {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == '/' {
			return url[i+1:]
		}
	}
	return url
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
