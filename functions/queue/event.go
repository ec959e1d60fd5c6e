package queue

import (
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/heraldrt/herald/shared/delivery"
)

// Invoke implements lambda.Handler: it decodes the SQS event, handles it and
// encodes the answer. It decodes only what every invocation reads (see
// Event); the receipt handles and queue ARNs are read again only when the
// provider's rate limit held messages back.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ev, err := DecodeEvent(payload)
	if err != nil {
		return nil, err
	}
	items := make([]delivery.Item, len(ev.Records))
	for i, r := range ev.Records {
		items[i] = item(r.MessageID, r.Body, "", r.Attributes.SentTimestamp)
	}
	resp, err := h.handle(ctx, items, func() ([]events.SQSMessage, error) { return receipts(payload) })
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Event is the part of an SQS event the handler reads on every invocation:
// each record's messageId, body and SentTimestamp attribute (the Lag
// metric's start). Skipping the rest of every record is most of the
// decoding at 10,000 messages, and what a fresh process does not allocate
// before its first provider request it does not pay for in page faults.
type Event struct {
	Records []Record `json:"Records"`
}

// Record is the part of an SQS record Event keeps.
type Record struct {
	MessageID string `json:"messageId"`
	// Body is the message body, decoded from its JSON string straight into
	// the bytes events.Parse reads.
	Body       Text `json:"body"`
	Attributes struct {
		SentTimestamp string `json:"SentTimestamp"`
	} `json:"attributes"`
}

// Text is a JSON string decoded into bytes: encoding/json/v2 would read
// []byte as base64, and a string field would be copied again into the
// bytes the envelope's decoder reads.
type Text []byte

// UnmarshalJSONFrom implements json.UnmarshalerFrom: a string is unquoted
// into one new slice, null leaves t nil, anything else is refused.
func (t *Text) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case 'n':
		*t = nil
		return nil
	case '"':
	default:
		return fmt.Errorf("want a JSON string, not %s", v.Kind())
	}
	// The decoder has checked the string's syntax, so the only error left
	// is invalid UTF-8, which the decoder's options allow: it is replaced
	// with U+FFFD, as a string field would have it. AppendUnquote makes
	// room for the quoted length at once, which unquoting never exceeds.
	b, _ := jsontext.AppendUnquote(nil, v)
	*t = b
	return nil
}

// DecodeEvent reads an SQS event's records as Event keeps them. Member
// names are matched exactly, as Lambda writes them, and a name given twice
// in one object is refused: it has two meanings. Invalid UTF-8 in a string
// becomes U+FFFD instead of failing the whole batch; SQS itself accepts
// only valid Unicode in a body.
func DecodeEvent(payload []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(payload, &ev, jsontext.AllowInvalidUTF8(true)); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// receipts reads what changing a message's visibility needs from an SQS
// event: each record's messageId, receiptHandle and eventSourceARN.
func receipts(payload []byte) ([]events.SQSMessage, error) {
	var ev struct {
		Records []struct {
			MessageID      string `json:"messageId"`
			ReceiptHandle  string `json:"receiptHandle"`
			EventSourceARN string `json:"eventSourceARN"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &ev, jsontext.AllowInvalidUTF8(true)); err != nil {
		return nil, err
	}
	out := make([]events.SQSMessage, len(ev.Records))
	for i, r := range ev.Records {
		out[i] = events.SQSMessage{MessageId: r.MessageID, ReceiptHandle: r.ReceiptHandle, EventSourceARN: r.EventSourceARN}
	}
	return out, nil
}
