package stream

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/delivery"
)

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
		// Unix seconds, the Lag metric's start; raw, so an odd value
		// cannot make the record poison.
		ApproximateCreationDateTime json.RawMessage `json:"ApproximateCreationDateTime"`
	} `json:"dynamodb"`
}

// Deps are what FromEnv would otherwise build from the environment (see
// delivery.Deps).
type Deps = delivery.Deps

// Handler handles DynamoDB stream events.
type Handler struct {
	core   *delivery.Trigger
	tables Tables
}

// FromEnv builds the StreamFunction's handler from its configuration
// (STREAM_TABLES or STREAM_TABLES_FILE, then the driver's variables and
// BROADCAST_DLQ_URL, see delivery.FromEnv), as its Lambda entry point does
// once at init.
func FromEnv(ctx context.Context, env config.Lookup, deps Deps) (*Handler, error) {
	tables, err := LoadTables(env.Get("STREAM_TABLES"), env.Get("STREAM_TABLES_FILE"))
	if err != nil {
		return nil, err
	}
	core, err := delivery.FromEnv(ctx, env, deps)
	if err != nil {
		return nil, err
	}
	core.Noun, core.IDKey, core.MessageIDKey = "record", "sequenceNumber", "eventID"
	// Lambda resumes a stream batch from the lowest sequence number
	// reported, so every record after the first one to retry comes again.
	core.Ordered = true
	return &Handler{core: core, tables: tables}, nil
}

// Handle broadcasts a stream batch and reports the records to retry by
// SequenceNumber. Without a dead-letter queue, poison records are reported
// too: the event source mapping's retry limit and on-failure destination
// then apply. A batch that failed whole because the provider's rate limit
// held its first record back is reported by record as well (see heldBack);
// any other batch that failed whole fails the invocation.
func (h *Handler) Handle(ctx context.Context, ev Event) (lambdaevents.DynamoDBEventResponse, error) {
	items := make([]delivery.Item, len(ev.Records))
	for i, raw := range ev.Records {
		items[i] = h.item(raw)
	}
	results, err := h.core.Run(ctx, items)
	if err != nil && !heldBack(results) {
		return lambdaevents.DynamoDBEventResponse{}, err
	}
	// An empty list, not null: "nothing failed" stated explicitly.
	resp := lambdaevents.DynamoDBEventResponse{BatchItemFailures: []lambdaevents.DynamoDBBatchItemFailure{}}
	for i, r := range results {
		if !r.Failed {
			continue
		}
		if items[i].ID == "" {
			// Lambda fails the whole batch for an identifier it does not
			// know; say so plainly rather than report an empty one.
			return lambdaevents.DynamoDBEventResponse{}, fmt.Errorf("stream: record %d has no SequenceNumber and could not be dead-lettered: %s", i, r.Reason)
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.DynamoDBBatchItemFailure{ItemIdentifier: items[i].ID})
	}
	return resp, nil
}

// item turns one record into what delivery broadcasts: envelopes in model
// mode, an envelope body in outbox mode, nothing for records a mode
// ignores, and poison for a record that is none of these.
func (h *Handler) item(raw json.RawMessage) delivery.Item {
	var r record
	// A field of the wrong type fails the decoding but, as encoding/json
	// documents, not the other fields: the identity is still there for
	// reporting.
	decodeErr := json.Unmarshal(raw, &r)
	table, named := TableName(r.SourceARN)
	it := delivery.Item{ID: r.Dynamodb.SequenceNumber, MessageID: r.EventID, Source: "stream:" + table, Raw: string(raw), Sent: created(r)}
	cfg, configured := h.tables[table]
	switch {
	case decodeErr != nil:
		it.Err = fmt.Errorf("record is not a DynamoDB stream record: %v", decodeErr)
	case it.ID == "":
		it.Err = errors.New("record has no dynamodb.SequenceNumber")
	case !named:
		it.Err = fmt.Errorf("eventSourceARN %q names no table", r.SourceARN)
	case !configured:
		it.Err = fmt.Errorf("table %s is not configured (STREAM_TABLES)", table)
	case cfg.Mode == ModeOutbox:
		// A nil body with no error is a record outbox mode ignores.
		it.Body, it.Err = outboxBody(cfg, r)
	default:
		it.Envelopes, it.Err = modelEnvelopes(cfg, r)
	}
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

// modelSuffix ends a model event's name, by the record's eventName.
var modelSuffix = map[string]string{"INSERT": "Created", "MODIFY": "Updated", "REMOVE": "Deleted"}

// modelEnvelopes builds the model event of a record.
func modelEnvelopes(cfg Table, r record) ([]events.Envelope, error) {
	suffix, ok := modelSuffix[r.EventName]
	if !ok {
		return nil, fmt.Errorf("eventName %q is not INSERT, MODIFY or REMOVE", r.EventName)
	}
	image, imageName := r.Dynamodb.NewImage, "NewImage"
	if r.EventName == "REMOVE" {
		image, imageName = r.Dynamodb.OldImage, "OldImage"
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
			ferr = cmp.Or(ferr, fmt.Errorf("channel %q: the item has no attribute %q", tpl, name))
		default:
			ferr = cmp.Or(ferr, fmt.Errorf("channel %q: attribute %q is not a string or a number", tpl, name))
		}
		return ""
	})
	if ferr != nil {
		return "", ferr
	}
	return strings.TrimSpace(out), nil
}

// created is when the stream record was written (ApproximateCreationDateTime,
// Unix seconds), or zero when the record does not say.
func created(r record) time.Time {
	sec, err := strconv.ParseFloat(string(r.Dynamodb.ApproximateCreationDateTime), 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(sec * 1000))
}
