package queue

import (
	"bytes"
	"encoding/json"

	"github.com/heraldrt/herald/events"
)

// maxWrapping bounds how many wrappers Unwrap peels (EventBridge inside SNS
// is two); deeper nesting is not something a real fan-in produces.
const maxWrapping = 3

// Unwrap returns the envelope body inside an SNS notification (its Message)
// or an EventBridge event (its detail), peeling nested wrappers; any other
// body is returned as it is, for events.Parse to judge. On error it
// returns nil.
func Unwrap(body []byte) ([]byte, error) {
	for range maxWrapping {
		inner, wrapped, err := unwrapOnce(body)
		if err != nil || !wrapped {
			return inner, err
		}
		body = inner
	}
	return body, nil
}

// unwrapOnce peels one wrapper; a body that is none comes back as it is.
func unwrapOnce(body []byte) ([]byte, bool, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return body, false, nil
	}
	// Most bodies are envelopes: skip decoding them here when they cannot
	// be a wrapper (SNS writes "TopicArn", EventBridge "detail-type").
	if !bytes.Contains(trimmed, []byte(`"TopicArn"`)) && !bytes.Contains(trimmed, []byte(`"detail-type"`)) {
		return body, false, nil
	}
	var probe struct {
		Type       string          `json:"Type"`
		TopicArn   string          `json:"TopicArn"`
		Message    *string         `json:"Message"`
		DetailType *string         `json:"detail-type"`
		Source     string          `json:"source"`
		Detail     json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(trimmed, &probe) != nil {
		return body, false, nil
	}
	switch {
	case probe.Type == "Notification" && probe.TopicArn != "":
		if probe.Message == nil {
			return nil, false, &events.Error{Path: "Message", Reason: "SNS notification has no Message"}
		}
		return []byte(*probe.Message), true, nil
	case probe.DetailType != nil && probe.Source != "":
		d := bytes.TrimSpace(probe.Detail)
		if len(d) == 0 || string(d) == "null" {
			return nil, false, &events.Error{Path: "detail", Reason: "EventBridge event has no detail"}
		}
		// detail is an object; a string holding JSON is accepted too, as
		// some producers put the envelope in as text.
		if d[0] == '"' {
			var s string
			if err := json.Unmarshal(d, &s); err != nil {
				return nil, false, &events.Error{Path: "detail", Reason: "is not a valid JSON string"}
			}
			return []byte(s), true, nil
		}
		return d, true, nil
	}
	return body, false, nil
}
