package queue

import (
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"

	"github.com/aws/aws-lambda-go/events"
)

// Invoke implements lambda.Handler: it decodes the SQS event, handles it and
// encodes the answer.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ev, err := DecodeEvent(payload)
	if err != nil {
		return nil, err
	}
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// sqsEvent is the part of an SQS event the handler reads: decoding only
// messageId, body and the SentTimestamp attribute (the Lag metric's start)
// skips the rest of every record, most of the work at 10,000 messages.
type sqsEvent struct {
	Records []struct {
		MessageID  string `json:"messageId"`
		Body       string `json:"body"`
		Attributes struct {
			SentTimestamp string `json:"SentTimestamp"`
		} `json:"attributes"`
	} `json:"Records"`
}

// DecodeEvent reads an SQS event into events.SQSEvent, filling only each
// record's MessageId, Body and SentTimestamp attribute. Member names are matched exactly, as Lambda
// writes them, and a name given twice in one object is refused: it has two
// meanings. Invalid UTF-8 in a string becomes U+FFFD instead of failing the
// whole batch; SQS itself accepts only valid Unicode in a body.
func DecodeEvent(payload []byte) (events.SQSEvent, error) {
	var in sqsEvent
	if err := json.Unmarshal(payload, &in, jsontext.AllowInvalidUTF8(true)); err != nil {
		return events.SQSEvent{}, err
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(in.Records))}
	for i, r := range in.Records {
		ev.Records[i] = events.SQSMessage{MessageId: r.MessageID, Body: r.Body}
		if r.Attributes.SentTimestamp != "" {
			ev.Records[i].Attributes = map[string]string{"SentTimestamp": r.Attributes.SentTimestamp}
		}
	}
	return ev, nil
}
