package tracing

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"os"
	"strings"

	"go.opentelemetry.io/otel/propagation"
)

// Header names as the propagators read them.
const (
	traceparent = "traceparent"
	tracestate  = "tracestate"
	xrayHeader  = "X-Amzn-Trace-Id"
)

// Carrier finds the trace an invocation continues in its event, for
// otellambda's EventToCarrier:
//   - an SQS batch: the first record's AWSTraceHeader system attribute
//     (what SQS keeps of the sender's X-Ray header) or its traceparent
//     message attribute;
//   - an HTTP API request: its traceparent and X-Amzn-Trace-Id headers;
//   - otherwise, and for a stream batch, the invocation's own X-Ray header
//     (_X_AMZN_TRACE_ID, which the runtime sets per invocation).
//
// It reads no further than the first record, so a large batch costs no
// second decoding.
func Carrier(event []byte) propagation.TextMapCarrier {
	c := propagation.MapCarrier{}
	readEvent(event, c)
	if len(c) == 0 {
		if h := os.Getenv("_X_AMZN_TRACE_ID"); h != "" {
			c[xrayHeader] = h
		}
	}
	return c
}

// sqsRecord is the part of an SQS record that carries a trace.
type sqsRecord struct {
	Attributes struct {
		AWSTraceHeader string `json:"AWSTraceHeader"`
	} `json:"attributes"`
	MessageAttributes map[string]struct {
		StringValue string `json:"stringValue"`
	} `json:"messageAttributes"`
}

func readEvent(event []byte, c propagation.MapCarrier) {
	dec := jsontext.NewDecoder(bytes.NewReader(event))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return
		}
		switch name.String() {
		case "Records":
			if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' || dec.PeekKind() != '{' {
				return
			}
			var r sqsRecord
			if json.UnmarshalDecode(dec, &r) != nil {
				return
			}
			if r.Attributes.AWSTraceHeader != "" {
				c[xrayHeader] = r.Attributes.AWSTraceHeader
			}
			for k, v := range r.MessageAttributes {
				if k := strings.ToLower(k); k == traceparent || k == tracestate {
					c[k] = v.StringValue
				}
			}
			return
		case "headers":
			var h map[string]string
			if json.UnmarshalDecode(dec, &h) != nil {
				return
			}
			// HTTP APIs lower-case header names; REST APIs do not.
			for k, v := range h {
				switch strings.ToLower(k) {
				case traceparent:
					c[traceparent] = v
				case tracestate:
					c[tracestate] = v
				case "x-amzn-trace-id":
					c[xrayHeader] = v
				}
			}
			return
		default:
			if dec.SkipValue() != nil {
				return
			}
		}
	}
}
