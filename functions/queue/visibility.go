package queue

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/delivery"
)

// VisibilityAPI is the part of SQS that delays a message's redelivery;
// *sqs.Client implements it.
type VisibilityAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

var _ VisibilityAPI = (*sqs.Client)(nil)

// maxVisibility is the longest visibility timeout SQS accepts: 12 hours.
const maxVisibility = 12 * time.Hour

// delayHeldBack sets the visibility timeout of the failed messages that
// the provider's rate limit held back to the wait it gave them.
// records reads the batch's records whole, in results' order; it is called
// only when some were held back.
func (h *Handler) delayHeldBack(ctx context.Context, records func() ([]events.SQSMessage, error), results []delivery.Result) {
	if h.visibility == nil {
		return
	}
	var held []int
	var waits []time.Duration
	for i, r := range results {
		if wait, ok := broadcast.RetryAfter(r.Err); ok && r.Failed {
			held = append(held, i)
			waits = append(waits, wait)
		}
	}
	if len(held) == 0 {
		return
	}
	all, err := records()
	if err == nil && len(all) != len(results) {
		err = fmt.Errorf("the event has %d records, the batch had %d", len(all), len(results))
	}
	if err != nil {
		h.visibility.log.WarnContext(ctx, "cannot delay the redelivery of rate-limited messages", "error", err)
		return
	}
	msgs := make([]events.SQSMessage, len(held))
	for n, i := range held {
		msgs[n] = all[i]
	}
	h.visibility.delay(ctx, msgs, waits)
}

// visibility sets the visibility timeout of messages reported for retry to
// the wait the provider's rate limit gave them, so that they come back when
// they can be sent rather than after the queue's visibility timeout (and
// not sooner, to be refused again). A failure to do so is logged: the
// message then comes back after the queue's own timeout, as it would have.
type visibility struct {
	api VisibilityAPI
	log *slog.Logger

	mu   sync.Mutex
	urls map[string]string // queue ARN -> URL
}

// delay sets each record's visibility timeout to its wait, rounded up to
// whole seconds (what SQS takes), and returns how many it set.
func (v *visibility) delay(ctx context.Context, records []events.SQSMessage, waits []time.Duration) int {
	byQueue := map[string][]types.ChangeMessageVisibilityBatchRequestEntry{}
	for i, r := range records {
		secs := int32(math.Ceil(min(waits[i], maxVisibility).Seconds()))
		byQueue[r.EventSourceARN] = append(byQueue[r.EventSourceARN], types.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle), VisibilityTimeout: secs,
		})
	}
	set := 0
	for arn, entries := range byQueue {
		url, err := v.url(ctx, arn)
		if err != nil {
			v.log.WarnContext(ctx, "cannot delay the redelivery of rate-limited messages", "queue", arn, "error", err)
			continue
		}
		for i := 0; i < len(entries); i += 10 {
			out, err := v.api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries[i:min(i+10, len(entries))]})
			if err != nil {
				v.log.WarnContext(ctx, "cannot delay the redelivery of rate-limited messages", "queue", arn, "error", err)
				continue
			}
			set += len(out.Successful)
			for _, f := range out.Failed {
				v.log.WarnContext(ctx, "cannot delay the redelivery of a rate-limited message", "queue", arn, "code", aws.ToString(f.Code), "reason", aws.ToString(f.Message))
			}
		}
	}
	return set
}

// url resolves a queue's ARN (arn:aws:sqs:region:account:name) to its URL,
// once per queue for the life of the process.
func (v *visibility) url(ctx context.Context, arn string) (string, error) {
	v.mu.Lock()
	url, ok := v.urls[arn]
	v.mu.Unlock()
	if ok {
		return url, nil
	}
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5] == "" {
		return "", fmt.Errorf("eventSourceARN %q is not an SQS queue's ARN", arn)
	}
	out, err := v.api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(parts[5]), QueueOwnerAWSAccountId: aws.String(parts[4])})
	if err != nil {
		return "", fmt.Errorf("GetQueueUrl %s: %w", parts[5], err)
	}
	url = aws.ToString(out.QueueUrl)
	v.mu.Lock()
	if v.urls == nil {
		v.urls = map[string]string{}
	}
	v.urls[arn] = url
	v.mu.Unlock()
	return url, nil
}
