package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/delivery"
)

// Broadcaster is the broadcast driver, as the handler uses it.
type Broadcaster interface {
	Broadcast(ctx context.Context, msgs []broadcast.Message) error
	Limits() broadcast.Limits
}

// DeadLetters sends poison records to the dead-letter queue, one error per
// letter (nil when queued).
type DeadLetters interface {
	Send(ctx context.Context, letters []deadletter.Letter) []error
}

// Event is a DynamoDB stream event. Records stay raw until each is decoded
// on its own, so one malformed record is poison alone instead of failing
// the whole invocation in the runtime's decoder.
type Event struct {
	Records []json.RawMessage `json:"Records"`
}

// record is the part of a stream record the handler reads.
type record struct {
	EventID   string `json:"eventID"`
	EventName string `json:"eventName"`
	SourceARN string `json:"eventSourceARN"`
	Dynamodb  struct {
		SequenceNumber string                     `json:"SequenceNumber"`
		Keys           map[string]json.RawMessage `json:"Keys"`
		NewImage       map[string]json.RawMessage `json:"NewImage"`
		OldImage       map[string]json.RawMessage `json:"OldImage"`
	} `json:"dynamodb"`
}

// Handler handles DynamoDB stream events.
type Handler struct {
	// Driver broadcasts. Required.
	Driver Broadcaster
	// Tables configures each table. Required.
	Tables Tables
	// DeadLetters, when set, takes poison records; when nil they are
	// reported as failures (the event source mapping's retry limit and
	// on-failure destination then apply).
	DeadLetters DeadLetters
	// Logger receives one line per poison or failed record; default
	// slog.Default().
	Logger *slog.Logger
}

// ErrNothingDelivered is returned when every record of a batch failed
// temporarily.
var ErrNothingDelivered = errors.New("stream: no record of the batch could be broadcast")

// Handle broadcasts a stream batch and reports the records to retry by
// SequenceNumber.
func (h *Handler) Handle(ctx context.Context, ev Event) (lambdaevents.DynamoDBEventResponse, error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	// An empty list, not null: "nothing failed" stated explicitly.
	resp := lambdaevents.DynamoDBEventResponse{BatchItemFailures: []lambdaevents.DynamoDBBatchItemFailure{}}
	if len(ev.Records) == 0 {
		return resp, nil
	}
	if h.Driver == nil {
		return resp, errors.New("stream: no broadcast driver configured")
	}
	items := make([]delivery.Item, len(ev.Records))
	sources := make([]string, len(ev.Records))
	eventIDs := make([]string, len(ev.Records))
	for i, raw := range ev.Records {
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			// The sequence number may still be there for reporting.
			var probe struct {
				EventID  string `json:"eventID"`
				Dynamodb struct {
					SequenceNumber string `json:"SequenceNumber"`
				} `json:"dynamodb"`
			}
			json.Unmarshal(raw, &probe)
			r.EventID, r.Dynamodb.SequenceNumber = probe.EventID, probe.Dynamodb.SequenceNumber
			items[i] = delivery.Item{ID: r.Dynamodb.SequenceNumber, MessageID: r.EventID, Err: fmt.Errorf("record is not a DynamoDB stream record: %v", err)}
		} else {
			items[i] = h.item(r)
		}
		table, _ := TableName(r.SourceARN)
		sources[i] = "stream:" + table
		eventIDs[i] = r.EventID
	}
	outcomes := delivery.Deliver(ctx, h.Driver, items)

	// Lambda resumes a stream batch from the lowest sequence number
	// reported, so every record after the first one to retry comes again.
	// Poison records past that point are left for that delivery: dead-
	// lettering them now would dead-letter them twice.
	firstRetry := len(outcomes)
	for i, o := range outcomes {
		if o.Status == delivery.Retry {
			firstRetry = i
			break
		}
	}
	var poison []int
	retries := 0
	for i, o := range outcomes {
		seq := items[i].ID
		switch o.Status {
		case delivery.Retry:
			retries++
			log.WarnContext(ctx, "broadcast failed, will retry", "sequenceNumber", seq, "eventID", eventIDs[i], "reason", o.Reason)
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.DynamoDBBatchItemFailure{ItemIdentifier: seq})
		case delivery.Poison:
			if i > firstRetry && items[i].ID != "" {
				log.WarnContext(ctx, "poison record after a record to retry; it is dead-lettered when the stream delivers it again", "sequenceNumber", seq, "eventID", eventIDs[i], "reason", o.Reason)
				continue
			}
			log.ErrorContext(ctx, "poison record", "sequenceNumber", seq, "eventID", eventIDs[i], "source", sources[i], "reason", o.Reason)
			poison = append(poison, i)
		}
	}
	if retries == len(ev.Records) {
		return lambdaevents.DynamoDBEventResponse{}, fmt.Errorf("%w: first failure: %s", ErrNothingDelivered, outcomes[0].Reason)
	}
	failed := poison
	if h.DeadLetters != nil && len(poison) > 0 {
		letters := make([]deadletter.Letter, len(poison))
		for n, i := range poison {
			letters[n] = deadletter.Letter{Body: string(ev.Records[i]), Reason: outcomes[i].Reason, SourceID: eventIDs[i], Source: sources[i]}
		}
		failed = nil
		for n, err := range h.DeadLetters.Send(ctx, letters) {
			if err != nil {
				log.ErrorContext(ctx, "dead-letter queue refused poison record; reporting it as failed", "sequenceNumber", items[poison[n]].ID, "error", err)
				failed = append(failed, poison[n])
			}
		}
	}
	for _, i := range failed {
		if items[i].ID == "" {
			// Lambda fails the whole batch for an identifier it does not
			// know; say so plainly rather than report an empty one.
			return lambdaevents.DynamoDBEventResponse{}, fmt.Errorf("stream: record %d has no SequenceNumber and could not be dead-lettered: %s", i, outcomes[i].Reason)
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.DynamoDBBatchItemFailure{ItemIdentifier: items[i].ID})
	}
	return resp, nil
}

// item turns one record into what delivery broadcasts: envelopes in model
// mode, an envelope body in outbox mode, nothing for records a mode ignores.
func (h *Handler) item(r record) delivery.Item {
	it := delivery.Item{ID: r.Dynamodb.SequenceNumber, MessageID: r.EventID}
	if it.ID == "" {
		it.Err = errors.New("record has no dynamodb.SequenceNumber")
		return it
	}
	table, ok := TableName(r.SourceARN)
	if !ok {
		it.Err = fmt.Errorf("eventSourceARN %q names no table", r.SourceARN)
		return it
	}
	cfg, ok := h.Tables[table]
	if !ok {
		it.Err = fmt.Errorf("table %s is not configured (STREAM_TABLES)", table)
		return it
	}
	var err error
	switch cfg.Mode {
	case ModeOutbox:
		it.Body, err = outboxBody(cfg, r)
		if it.Body == nil && err == nil {
			return delivery.Item{ID: it.ID, MessageID: it.MessageID}
		}
	default:
		it.Envelopes, err = modelEnvelopes(cfg, r)
	}
	it.Err = err
	return it
}

// envelopeFields are the attributes of an outbox row that form its envelope.
var envelopeFields = []string{"name", "channel", "channels", "data", "socket_id", "id", "batch", "notification"}

// outboxBody returns the envelope body of an outbox INSERT, or nil for
// MODIFY and REMOVE (TTL expiry of sent rows), which are not broadcast.
func outboxBody(cfg Table, r record) ([]byte, error) {
	if r.EventName != "INSERT" {
		return nil, nil
	}
	if r.Dynamodb.NewImage == nil {
		return nil, errors.New("outbox INSERT has no NewImage (the stream view type must include new images)")
	}
	row, err := Image(r.Dynamodb.NewImage)
	if err != nil {
		return nil, fmt.Errorf("NewImage.%w", err)
	}
	if cfg.Attribute != "" {
		v, ok := row[cfg.Attribute]
		if !ok {
			return nil, fmt.Errorf("outbox row has no attribute %q", cfg.Attribute)
		}
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
		return json.Marshal(v)
	}
	env := map[string]any{}
	for _, f := range envelopeFields {
		if v, ok := row[f]; ok {
			env[f] = v
		}
	}
	return json.Marshal(env)
}

// modelEnvelopes builds the model event of a record.
func modelEnvelopes(cfg Table, r record) ([]events.Envelope, error) {
	var suffix string
	image, imageName := r.Dynamodb.NewImage, "NewImage"
	switch r.EventName {
	case "INSERT":
		suffix = "Created"
	case "MODIFY":
		suffix = "Updated"
	case "REMOVE":
		suffix = "Deleted"
		image, imageName = r.Dynamodb.OldImage, "OldImage"
	default:
		return nil, fmt.Errorf("eventName %q is not INSERT, MODIFY or REMOVE", r.EventName)
	}
	if image == nil {
		return nil, fmt.Errorf("%s record has no %s (the stream view type must be NEW_AND_OLD_IMAGES)", r.EventName, imageName)
	}
	item, err := Image(image)
	if err != nil {
		return nil, fmt.Errorf("%s.%w", imageName, err)
	}
	visible := cfg.visible(item)
	if r.EventName == "MODIFY" && r.Dynamodb.OldImage != nil {
		old, err := Image(r.Dynamodb.OldImage)
		if err == nil && reflect.DeepEqual(cfg.visible(old), visible) {
			return nil, nil
		}
	}
	channels := make([]string, 0, len(cfg.channels()))
	for _, tpl := range cfg.channels() {
		ch, err := fill(tpl, item)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(channels, ch) {
			channels = append(channels, ch)
		}
	}
	data, err := json.Marshal(map[string]any{"model": visible})
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return []events.Envelope{{Name: cfg.Model + suffix, Channels: channels, Data: data}}, nil
}

// visible drops hidden attributes and, with Only, all but those listed.
func (t Table) visible(item map[string]any) map[string]any {
	out := make(map[string]any, len(item))
	for k, v := range item {
		if slices.Contains(t.Hidden, k) || len(t.Only) > 0 && !slices.Contains(t.Only, k) {
			continue
		}
		out[k] = v
	}
	return out
}

// fill replaces each {attr} in a channel template with the item's
// attribute, which must be a string or a number.
func fill(tpl string, item map[string]any) (string, error) {
	var ferr error
	out := placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
		name := m[1 : len(m)-1]
		switch v := item[name].(type) {
		case string:
			return v
		case json.Number:
			return v.String()
		case nil:
			if ferr == nil {
				ferr = fmt.Errorf("channel %q: the item has no attribute %q", tpl, name)
			}
		default:
			if ferr == nil {
				ferr = fmt.Errorf("channel %q: attribute %q is not a string or a number", tpl, name)
			}
		}
		return ""
	})
	if ferr != nil {
		return "", ferr
	}
	return strings.TrimSpace(out), nil
}
