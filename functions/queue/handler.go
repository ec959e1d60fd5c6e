package queue

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

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
}

// FromEnv builds the QueueFunction's handler from its configuration (the
// driver's variables and BROADCAST_DLQ_URL, see delivery.FromEnv), as its
// Lambda entry point does once at init.
func FromEnv(ctx context.Context, env config.Lookup, deps Deps) (*Handler, error) {
	core, err := delivery.FromEnv(ctx, env, deps)
	if err != nil {
		return nil, err
	}
	core.Noun, core.IDKey = "message", "messageId"
	return &Handler{core: core}, nil
}

// Handle broadcasts an SQS batch and reports the messages to retry: those
// that failed temporarily, and poison ones no dead-letter queue took (the
// queue's redrive policy then moves them). When every message failed
// temporarily the error wraps delivery.ErrNothingDelivered.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	items := make([]delivery.Item, len(ev.Records))
	for i, r := range ev.Records {
		body, err := Unwrap([]byte(r.Body)) // nil when err is not
		items[i] = delivery.Item{ID: r.MessageId, Source: Source, Raw: r.Body, Body: body, Err: err}
	}
	results, err := h.core.Run(ctx, items)
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
