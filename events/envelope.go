package events

import (
	"bytes"
	"cmp"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/protocol"
)

// Envelope is one event for one or more channels.
//
//	{"name": "EmailSent", "channels": ["private-App.Models.User.42"],
//	 "data": {"subject": "Welcome"}, "socket_id": "123.456", "id": "key"}
type Envelope struct {
	// Name is the event name the browser binds to.
	Name string `json:"name"`
	// Channels are full channel names. Decode folds the single-channel
	// spelling "channel" into it.
	Channels []string `json:"channels,omitempty"`
	// Channel is accepted on input as the one-channel spelling of Channels.
	Channel string `json:"channel,omitempty"`
	// Data is any JSON value, or a string holding JSON as Pusher's HTTP API
	// sends it.
	Data jsontext.Value `json:"data"`
	// SocketID excludes that connection from delivery (Laravel's toOthers()).
	SocketID string `json:"socket_id,omitempty"`
	// ID is an optional idempotency key: the same id is broadcast once.
	ID string `json:"id,omitempty"`
	// Unoccupied says what happens to channels that have no subscriber:
	// UnoccupiedSend (the default), UnoccupiedSkip or UnoccupiedFallback.
	Unoccupied string `json:"unoccupied,omitempty"`

	// payload caches Payload once Validate has computed it.
	payload *string
}

// Batch is several envelopes in one trigger: {"batch": [envelope, ...]}.
type Batch struct {
	Batch []jsontext.Value `json:"batch"`
}

// Values of Envelope.Unoccupied.
const (
	// UnoccupiedSend sends to every channel, subscribed or not.
	UnoccupiedSend = "send"
	// UnoccupiedSkip sends nothing to channels without a subscriber.
	UnoccupiedSkip = "skip"
	// UnoccupiedFallback sends nothing to channels without a subscriber and
	// hands the envelope, with those channels, to the fallback
	// (BroadcastUndelivered), so the app can email or push instead.
	UnoccupiedFallback = "fallback"
)

// Limits of the envelope itself. Pusher's limits are in shared/protocol;
// data size limits belong to the driver.
const (
	MaxIDLength = 256
	MaxBatch    = 1000
)

// ErrInvalid is wrapped by every decoding and validation error.
var ErrInvalid = errors.New("invalid envelope")

// Error is a decoding or validation error at a path inside the input.
type Error struct {
	// Path locates the offending field: "batch[3].channels[2]".
	Path string
	// Reason says what is wrong with it.
	Reason string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Unwrap makes every *Error match ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func invalid(path, format string, args ...any) *Error {
	return &Error{Path: path, Reason: fmt.Sprintf(format, args...)}
}

func join(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

func within(prefix string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Path: join(prefix, e.Path), Reason: e.Reason}
	}
	return err
}

// Decode parses one trigger body: an envelope, a batch of envelopes or a
// notification. It returns the envelopes with Channel folded into Channels.
// Decode checks shape only; call Validate on each envelope for names, sizes
// and limits.
//
// Member names match exactly, a name given twice in one object is refused
// (the one validated must be the one broadcast), and so is invalid UTF-8:
// Pusher and Ably carry text.
func Decode(body []byte) ([]Envelope, error) {
	envs, _, err := decode(body)
	return envs, err
}

// trigger is every member the top level of a body may have: an
// envelope's, or "batch", or "notification" with an envelope's routing
// members. The envelope is decoded where its caller keeps it.
type trigger struct {
	*Envelope
	Batch        jsontext.Value `json:"batch"`
	Notification jsontext.Value `json:"notification"`
}

// decode reports whether body was a batch besides its envelopes.
func decode(body []byte) ([]Envelope, bool, error) {
	out := make([]Envelope, 1)
	t, err := decodeTrigger(body, &out[0])
	if err != nil {
		return nil, false, err
	}
	if t.Batch == nil {
		if err := t.envelope(body); err != nil {
			return nil, false, err
		}
		return out, false, nil
	}
	if others := otherMembers(body, "batch"); others != "" {
		return nil, false, invalid("", "a batch has only the field \"batch\", found %s", others)
	}
	var items []jsontext.Value
	if err := json.Unmarshal(t.Batch, &items); err != nil {
		return nil, false, invalid("batch", "must be an array of envelopes")
	}
	if len(items) == 0 {
		return nil, false, invalid("batch", "is empty")
	}
	if len(items) > MaxBatch {
		return nil, false, invalid("batch", "has %d envelopes, the limit is %d", len(items), MaxBatch)
	}
	out = make([]Envelope, len(items))
	for i, item := range items {
		it, err := decodeTrigger(item, &out[i])
		if err == nil && it.Batch != nil {
			err = invalid("", "batches do not nest")
		}
		if err == nil {
			err = it.envelope(item)
		}
		if err != nil {
			return nil, false, within(fmt.Sprintf("batch[%d]", i), err)
		}
	}
	return out, true, nil
}

// decodeTrigger reads the top level of a body into a trigger whose
// envelope is into, naming what is wrong with it. A body with a batch
// member is returned as a batch whatever else it holds: its caller says
// what a batch may hold.
func decodeTrigger(body []byte, into *Envelope) (trigger, error) {
	t := trigger{Envelope: into}
	if len(bytes.TrimSpace(body)) == 0 {
		return t, invalid("", "body is empty")
	}
	err := json.Unmarshal(body, &t, json.RejectUnknownMembers(true))
	if err == nil {
		return t, nil
	}
	var se *json.SemanticError
	if errors.As(err, &se) && se.JSONPointer != "" {
		var m map[string]jsontext.Value
		if json.Unmarshal(body, &m) == nil && m["batch"] != nil {
			return trigger{Envelope: into, Batch: m["batch"]}, nil
		}
	}
	return t, decodeError(err)
}

// envelope completes the envelope of a trigger that is not a batch.
func (t *trigger) envelope(body []byte) error {
	if t.Notification != nil {
		e, err := decodeNotification(body)
		if err != nil {
			return err
		}
		*t.Envelope = e
		return nil
	}
	return foldChannel(t.Envelope)
}

// foldChannel moves the one-channel spelling into Channels.
func foldChannel(e *Envelope) error {
	if e.Channel == "" {
		return nil
	}
	if len(e.Channels) > 0 {
		return invalid("", "give either \"channel\" or \"channels\", not both")
	}
	e.Channels = []string{e.Channel}
	e.Channel = ""
	return nil
}

// decodeError turns encoding/json/v2's errors into field-named ones.
func decodeError(err error) error {
	var se *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.Is(err, json.ErrUnknownName) && errors.As(err, &se):
		return invalid("", "unknown field %q (an envelope has name, channel or channels, data, socket_id, id, unoccupied)", se.JSONPointer.LastToken())
	case errors.Is(err, jsontext.ErrDuplicateName) && errors.As(err, &syn):
		return invalid(fieldPath(syn.JSONPointer), "is given twice")
	case errors.As(err, &syn):
		return invalid("", "body is not valid JSON")
	case errors.As(err, &se) && se.JSONPointer == "":
		return invalid("", "body must be a JSON object (an envelope, {\"batch\": [...]} or {\"notification\": {...}})")
	case errors.As(err, &se) && se.GoType != nil:
		return invalid(fieldPath(se.JSONPointer), "must be %s, not a JSON %s", jsonKind(se.GoType.Kind().String()), kindName(se.JSONKind))
	}
	return invalid("", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// fieldPath writes a JSON pointer as the paths errors name:
// /batch/3/channels/2 is batch[3].channels[2].
func fieldPath(p jsontext.Pointer) string {
	var path string
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil {
			path += "[" + tok + "]"
		} else {
			path = join(path, tok)
		}
	}
	return path
}

// jsonKind names a Go kind as the JSON type it decodes from, with its article.
func jsonKind(goKind string) string {
	switch goKind {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

// kindName names the kind of a JSON value found; jsontext names strings,
// numbers and null alike.
func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	}
	return k.String()
}

// otherMembers lists the names of body's top-level members besides except,
// quoted, for an error message.
func otherMembers(body []byte, except string) string {
	var m map[string]jsontext.Value
	_ = json.Unmarshal(body, &m)
	var keys []string
	for k := range m {
		if k != except {
			keys = append(keys, strconv.Quote(k))
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// Parse decodes a trigger body and validates every envelope in it against
// the driver's limits. One bad envelope refuses the whole body: the body is
// the unit a queue retries or dead-letters.
func Parse(body []byte, lim broadcast.Limits) ([]Envelope, error) {
	envs, batch, err := decode(body)
	if err != nil {
		return nil, err
	}
	for i := range envs {
		if err := envs[i].Validate(lim); err != nil {
			if batch {
				return nil, within(fmt.Sprintf("batch[%d]", i), err)
			}
			return nil, err
		}
	}
	return envs, nil
}

// Validate checks the envelope against Pusher's naming rules and the
// driver's limits. More than lim.MaxChannelsPerCall channels is not an
// error: drivers split long lists, as Laravel does.
func (e *Envelope) Validate(lim broadcast.Limits) error {
	switch {
	case e.Name == "":
		return invalid("name", "is required")
	case len(e.Name) > protocol.MaxEventNameLength:
		return invalid("name", "is %d bytes, the limit is %d", len(e.Name), protocol.MaxEventNameLength)
	case strings.HasPrefix(e.Name, "pusher:") || strings.HasPrefix(e.Name, "pusher_internal:"):
		return invalid("name", "%q: names starting with \"pusher:\" or \"pusher_internal:\" are reserved for the protocol", e.Name)
	}
	if len(e.Channels) == 0 {
		return invalid("channels", "at least one channel is required")
	}
	// Duplicates are found by comparing with the channels before, or, in
	// long lists, with a map: most envelopes name one channel.
	var seen map[string]int
	if len(e.Channels) > 8 {
		seen = make(map[string]int, len(e.Channels))
	}
	for i, ch := range e.Channels {
		path := func() string { return "channels[" + strconv.Itoa(i) + "]" }
		if err := protocol.ValidateChannel(ch); err != nil {
			return invalid(path(), "%v", err)
		}
		j, dup := -1, false
		if seen != nil {
			j, dup = seen[ch]
			seen[ch] = i
		} else {
			j = slices.Index(e.Channels[:i], ch)
			dup = j >= 0
		}
		if dup {
			return invalid(path(), "%q is also channels[%d]", ch, j)
		}
		if len(e.Channels) > 1 && protocol.KindOf(ch) == protocol.PrivateEncrypted {
			return invalid(path(), "%q: an encrypted channel must be the only channel of its envelope (each is encrypted with its own key)", ch)
		}
	}
	if len(e.Data) == 0 {
		return invalid("data", "is required")
	}
	e.payload = nil // Data may have changed since a Validate before
	payload, err := e.Payload()
	if err != nil {
		return err
	}
	e.payload = &payload
	if lim.MaxDataBytes > 0 && len(payload) > lim.MaxDataBytes {
		return invalid("data", "is %d bytes, the limit is %d", len(payload), lim.MaxDataBytes)
	}
	if e.SocketID != "" && !protocol.ValidSocketID(e.SocketID) {
		return invalid("socket_id", "%q must look like 123.456 (digits, a dot, digits)", e.SocketID)
	}
	if len(e.ID) > MaxIDLength {
		return invalid("id", "is %d bytes, the limit is %d", len(e.ID), MaxIDLength)
	}
	switch e.Unoccupied {
	case "", UnoccupiedSend, UnoccupiedSkip, UnoccupiedFallback:
	default:
		return invalid("unoccupied", "%q must be %q, %q or %q", e.Unoccupied, UnoccupiedSend, UnoccupiedSkip, UnoccupiedFallback)
	}
	return nil
}

// Payload returns the data as Pusher carries it: a JSON string's contents
// as they are, any other JSON value compacted; after Validate, the one it
// computed.
func (e *Envelope) Payload() (string, error) {
	if e.payload != nil {
		return *e.payload, nil
	}
	d := bytes.TrimSpace(e.Data)
	if len(d) == 0 {
		return "", invalid("data", "is required")
	}
	if d[0] == '"' {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return "", invalid("data", "is not a valid JSON string")
		}
		return s, nil
	}
	// Compact keeps strings and numbers as they are written.
	v := jsontext.Value(slices.Clone(d))
	if err := v.Compact(); err != nil {
		return "", invalid("data", "is not valid JSON")
	}
	return string(v), nil
}

// Message converts a validated envelope into what a driver broadcasts.
// fallbackID identifies the trigger (an SQS messageId, a stream eventID) and
// is used when the envelope carries no id of its own.
func (e *Envelope) Message(fallbackID string) (broadcast.Message, error) {
	payload, err := e.Payload()
	if err != nil {
		return broadcast.Message{}, err
	}
	return broadcast.Message{
		Name:     e.Name,
		Channels: e.Channels,
		Data:     payload,
		SocketID: e.SocketID,
		ID:       cmp.Or(e.ID, fallbackID),
	}, nil
}
