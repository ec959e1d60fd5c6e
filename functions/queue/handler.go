package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/delivery"
)

// Broadcaster is the broadcast driver, as the handler uses it.
type Broadcaster interface {
	Broadcast(ctx context.Context, msgs []broadcast.Message) error
	Limits() broadcast.Limits
}

// DeadLetters sends poison messages to the dead-letter queue, one error per
// letter (nil when queued).
type DeadLetters interface {
	Send(ctx context.Context, letters []deadletter.Letter) []error
}

// Source names this trigger in dead letters.
const Source = "queue"

// Handler handles SQS events.
type Handler struct {
	// Driver broadcasts. Required.
	Driver Broadcaster
	// DeadLetters, when set, takes poison messages; when nil they are
	// reported as failures for the queue's redrive policy.
	DeadLetters DeadLetters
	// Logger receives one line per poison or failed message; default
	// slog.Default().
	Logger *slog.Logger
}

// ErrNothingDelivered is returned when every message of a batch failed
// temporarily: the whole batch is retried, and Lambda backs off.
var ErrNothingDelivered = errors.New("queue: no message of the batch could be broadcast")

// Handle broadcasts an SQS batch and reports the messages to retry.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	// An empty list, not null: "nothing failed" stated explicitly.
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	if len(ev.Records) == 0 {
		return resp, nil
	}
	if h.Driver == nil {
		return resp, errors.New("queue: no broadcast driver configured")
	}
	items := make([]delivery.Item, len(ev.Records))
	for i, r := range ev.Records {
		body, err := Unwrap([]byte(r.Body))
		items[i] = delivery.Item{ID: r.MessageId, Body: body, Err: err}
		if err != nil {
			items[i].Body = nil
		}
	}
	outcomes := delivery.Deliver(ctx, h.Driver, items)

	var poison []int
	retries := 0
	for i, o := range outcomes {
		id := ev.Records[i].MessageId
		switch o.Status {
		case delivery.Retry:
			retries++
			log.WarnContext(ctx, "broadcast failed, will retry", "messageId", id, "reason", o.Reason)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		case delivery.Poison:
			log.ErrorContext(ctx, "poison message", "messageId", id, "reason", o.Reason)
			poison = append(poison, i)
		}
	}
	if retries == len(ev.Records) {
		return events.SQSEventResponse{}, fmt.Errorf("%w: first failure: %s", ErrNothingDelivered, outcomes[0].Reason)
	}
	for _, i := range h.deadLetter(ctx, log, ev.Records, outcomes, poison) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
	}
	return resp, nil
}

// deadLetter sends the poison messages to the DLQ and returns those that
// must be reported as failures: all of them without a DLQ, else the ones
// the DLQ did not take. Either way none is lost.
func (h *Handler) deadLetter(ctx context.Context, log *slog.Logger, recs []events.SQSMessage, outcomes []delivery.Outcome, poison []int) []int {
	if len(poison) == 0 || h.DeadLetters == nil {
		return poison
	}
	letters := make([]deadletter.Letter, len(poison))
	for n, i := range poison {
		letters[n] = deadletter.Letter{Body: recs[i].Body, Reason: outcomes[i].Reason, SourceID: recs[i].MessageId, Source: Source}
	}
	var failed []int
	for n, err := range h.DeadLetters.Send(ctx, letters) {
		if err != nil {
			log.ErrorContext(ctx, "dead-letter queue refused poison message; reporting it as failed", "messageId", recs[poison[n]].MessageId, "error", err)
			failed = append(failed, poison[n])
		}
	}
	return failed
}
