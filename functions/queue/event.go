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
	if !r.Byte('{') {
		return ev, false
	}
	if !r.Byte('}') {
		for {
			key, ok := r.Key()
			switch {
			case !ok:
				return ev, false
			case string(key) == "Records":
				if ev.Records, ok = scanRecords(r); !ok {
					return ev, false
				}
			case bytes.EqualFold(key, records):
				return ev, false // encoding/json matches keys regardless of case
			case !r.Skip():
				return ev, false
			}
			if r.Byte('}') {
				break
			}
			if !r.Byte(',') {
				return ev, false
			}
		}
	}
	return ev, r.End()
}

func scanRecords(r *jsontext.Reader) ([]events.SQSMessage, bool) {
	if !r.Byte('[') {
		return nil, false
	}
	recs := make([]events.SQSMessage, 0, 16)
	if r.Byte(']') {
		return recs, true
	}
	for {
		var m events.SQSMessage
		if !r.Byte('{') {
			return nil, false
		}
		if !r.Byte('}') {
			for {
				key, ok := r.Key()
				switch {
				case !ok:
					return nil, false
				case string(key) == "messageId":
					m.MessageId, ok = r.String()
				case string(key) == "body":
					m.Body, ok = r.String()
				case bytes.EqualFold(key, messageID) || bytes.EqualFold(key, body):
					return nil, false
				default:
					ok = r.Skip()
				}
				if !ok {
					return nil, false
				}
				if r.Byte('}') {
					break
				}
				if !r.Byte(',') {
					return nil, false
				}
			}
		}
		recs = append(recs, m)
		if r.Byte(']') {
			return recs, true
		}
		if !r.Byte(',') {
			return nil, false
		}
	}
}
