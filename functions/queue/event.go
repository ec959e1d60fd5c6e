package queue

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/heraldrt/herald/shared/jsontext"
)

// Invoke implements lambda.Handler: it decodes the SQS event, handles it and
// encodes the answer. The event is read in one pass for the two fields the
// handler uses, messageId and body; at 10,000 messages that is most of the
// CPU an invocation spends before its first provider request, and a 128 MB
// function has a fraction of a vCPU to spend it with.
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

// DecodeEvent reads an SQS event as encoding/json would into
// events.SQSEvent, filling only each record's MessageId and Body. An event
// the one-pass reader does not expect (a field spelt in another case, a
// null, malformed JSON) is decoded by encoding/json, which fills every
// field and reports any error.
func DecodeEvent(payload []byte) (events.SQSEvent, error) {
	if ev, ok := scanEvent(payload); ok {
		return ev, nil
	}
	var ev events.SQSEvent
	err := json.Unmarshal(payload, &ev)
	return ev, err
}

// The fields read, for comparisons regardless of case.
var records, messageID, body = []byte("Records"), []byte("messageId"), []byte("body")

func scanEvent(payload []byte) (events.SQSEvent, bool) {
	var ev events.SQSEvent
	r := jsontext.New(payload)
	ok := r.Members(func(key []byte) bool {
		switch {
		case string(key) == "Records":
			var ok bool
			ev.Records, ok = scanRecords(r)
			return ok
		case bytes.EqualFold(key, records):
			return false // encoding/json matches keys regardless of case
		}
		return r.Skip()
	})
	return ev, ok && r.End()
}

func scanRecords(r *jsontext.Reader) ([]events.SQSMessage, bool) {
	recs := make([]events.SQSMessage, 0, 16)
	ok := r.Elements(func() bool {
		var m events.SQSMessage
		ok := r.Members(func(key []byte) bool {
			var ok bool
			switch {
			case string(key) == "messageId":
				m.MessageId, ok = r.String()
			case string(key) == "body":
				m.Body, ok = r.String()
			case bytes.EqualFold(key, messageID) || bytes.EqualFold(key, body):
				return false
			default:
				ok = r.Skip()
			}
			return ok
		})
		recs = append(recs, m)
		return ok
	})
	return recs, ok
}
