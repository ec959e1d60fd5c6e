package queue

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/delivery"
)

// Source names this trigger in dead letters.
const Source = "queue"

// Deps are what FromEnv would otherwise build from the environment (see
// delivery.Deps).
type Deps = delivery.Deps

// Handler handles SQS events.
type Handler struct {
	core *delivery.Trigger
	// visibility delays the messages the provider's rate limit held back;
	// nil without AWS configuration.
	visibility *visibility
}

// FromEnv builds the QueueFunction's handler from its configuration (the
// driver's variables and BROADCAST_DLQ_URL, see delivery.FromEnv), as its
// Lambda entry point does once at init. With the AWS configuration Lambda
// always gives (config.AWS), messages the provider's rate limit held back
// have their visibility timeout set to the wait; without it (a run with no
// AWS at all) they come back after the queue's visibility timeout.
func FromEnv(ctx context.Context, env config.Lookup, deps Deps) (*Handler, error) {
	core, err := delivery.FromEnv(ctx, env, deps)
	if err != nil {
		return nil, err
	}
	core.Noun, core.IDKey = "message", "messageId"
	h := &Handler{core: core}
	if awsCfg, err := config.AWS(env); err == nil {
		h.visibility = &visibility{api: sqs.NewFromConfig(awsCfg), log: core.Log}
	}
	return h, nil
}

// Handle broadcasts an SQS batch and reports the messages to retry: those
// that failed temporarily, and poison ones no dead-letter queue took (the
// queue's redrive policy then moves them). Those the provider's rate limit
// held back come back after the wait it gave (see FromEnv). When every
// message failed temporarily the error wraps delivery.ErrNothingDelivered.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	items := make([]delivery.Item, len(ev.Records))
	for i, r := range ev.Records {
		items[i] = item(r.MessageId, r.Body, r.Attributes["SentTimestamp"])
	}
	return h.handle(ctx, items, func() ([]events.SQSMessage, error) { return ev.Records, nil })
}

// item is the delivery item of one SQS record: its body unwrapped from any
// SNS or EventBridge wrapper; sent is the SentTimestamp attribute.
func item(id, body, sent string) delivery.Item {
	inner, err := Unwrap([]byte(body)) // nil when err is not
	return delivery.Item{ID: id, Source: Source, Raw: body, Body: inner, Err: err, Sent: sentAt(sent)}
}

// handle broadcasts items; records reads the batch's records again whole,
// for the few the provider's rate limit held back.
func (h *Handler) handle(ctx context.Context, items []delivery.Item, records func() ([]events.SQSMessage, error)) (events.SQSEventResponse, error) {
	results, err := h.core.Run(ctx, items)
	h.delayHeldBack(ctx, records, results) // the results are complete even with err
	if err != nil {
		return events.SQSEventResponse{}, err
	}
	// An empty list, not null: "nothing failed" stated explicitly.
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, r := range results {
		if r.Failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: items[i].ID})
		}
	}
	return resp, nil
}

// sentAt is when SQS took the message (its SentTimestamp attribute, in
// Unix milliseconds), or zero when the record does not say.
func sentAt(attr string) time.Time {
	ms, err := strconv.ParseInt(attr, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
