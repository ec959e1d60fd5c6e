package queue

import (
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"

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
		items[i] = item(r.MessageID, r.Body, r.Attributes.SentTimestamp)
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
	MessageID  string `json:"messageId"`
	Body       string `json:"body"`
	Attributes struct {
		SentTimestamp string `json:"SentTimestamp"`
	} `json:"attributes"`
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
