package server

import (
	"encoding/json"
	"errors"
)

// Pusher protocol 7 close and error codes. pusher-js decides what to do from
// the range: 4000-4099 it gives up, 4100-4199 it reconnects with backoff,
// 4200-4299 it reconnects at once; 4300 and above are reported without a
// close.
const (
	CodeAppNotFound          = 4001 // application does not exist
	CodeUnsupportedProtocol  = 4007 // unsupported protocol version
	CodeNoProtocol           = 4008 // no protocol version supplied
	CodeUnauthorized         = 4009 // connection is unauthorized (also: terminated by the app)
	CodeOverCapacity         = 4100 // over capacity: the client could not keep up
	CodeReconnect            = 4200 // generic reconnect immediately (server going away)
	CodePongNotReceived      = 4201 // pong reply not received
	CodeClientEventRateLimit = 4301 // client event rejected due to rate limit
)

// Protocol is the only protocol version served.
const Protocol = "7"

// Event names of the protocol.
const (
	evConnectionEstablished = "pusher:connection_established"
	evError                 = "pusher:error"
	evPing                  = "pusher:ping"
	evPong                  = "pusher:pong"
	evSubscribe             = "pusher:subscribe"
	evUnsubscribe           = "pusher:unsubscribe"
	evSignin                = "pusher:signin"
	evSigninSuccess         = "pusher:signin_success"
	evSubscriptionError     = "pusher:subscription_error"
	evSubscriptionSucceeded = "pusher_internal:subscription_succeeded"
	evMemberAdded           = "pusher_internal:member_added"
	evMemberRemoved         = "pusher_internal:member_removed"
	clientEventPrefix       = "client-"
)

// inFrame is a message from a client. Data is kept raw: pusher-js sends
// objects, other clients send the same object as a JSON string.
type inFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// decodeFrame parses a client message.
func decodeFrame(b []byte) (inFrame, error) {
	var f inFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return f, errors.New("invalid JSON")
	}
	if f.Event == "" {
		return f, errors.New("missing event name")
	}
	return f, nil
}

// decodeData unmarshals a frame's data into v, accepting the object itself
// or the object encoded as a JSON string.
func decodeData(raw json.RawMessage, v any) error {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		raw = json.RawMessage(s)
	}
	if len(raw) == 0 {
		return errors.New("missing data")
	}
	return json.Unmarshal(raw, v)
}

// outFrame is a message to a client. Data is a JSON string for channel
// events and the internal events pusher-js parses twice, and an object for
// pusher:error and subscription errors, as Pusher sends them.
type outFrame struct {
	Event   string `json:"event"`
	Channel string `json:"channel,omitempty"`
	Data    any    `json:"data"`
	UserID  string `json:"user_id,omitempty"`
}

func encodeFrame(f outFrame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		// Only the server's own values reach here; raw client data was
		// validated as JSON when it was decoded.
		panic("server: encoding a frame: " + err.Error())
	}
	return b
}

// eventFrame is a channel event whose data is a string.
func eventFrame(channel, event, data, userID string) []byte {
	return encodeFrame(outFrame{Event: event, Channel: channel, Data: data, UserID: userID})
}

// errorData is the data of a pusher:error. Code is null for errors that do
// not close the connection, as Pusher sends them.
type errorData struct {
	Message string `json:"message"`
	Code    *int   `json:"code"`
}

func errorFrame(code int, message string) []byte {
	d := errorData{Message: message}
	if code != 0 {
		d.Code = &code
	}
	return encodeFrame(outFrame{Event: evError, Data: d})
}

// subscriptionErrorData is what pusher-js hands to pusher:subscription_error
// handlers.
type subscriptionErrorData struct {
	Type   string `json:"type"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func subscriptionErrorFrame(channel, typ, message string, status int) []byte {
	return encodeFrame(outFrame{Event: evSubscriptionError, Channel: channel, Data: subscriptionErrorData{Type: typ, Error: message, Status: status}})
}

// mustJSON encodes a server-built value as a JSON string, for the data of
// events that carry JSON inside a string.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("server: encoding event data: " + err.Error())
	}
	return string(b)
}
