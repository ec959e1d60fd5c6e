package app

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"fmt"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/protocol"
)

// Trigger is something herald broadcasts: an Event, a Notification or a
// Batch. Body returns its JSON, validated.
type Trigger interface {
	Body() ([]byte, error)
}

var (
	_ Trigger = Event{}
	_ Trigger = Notification{}
	_ Trigger = Batch{}
)

// Limits are what Body validates against: Pusher's (10 KB of data), the
// strictest provider's. An app on Ably, or on a Pusher plan with a higher
// limit, may raise MaxDataBytes to match PUSHER_MAX_DATA_BYTES.
var Limits = broadcast.Limits{
	MaxDataBytes:       protocol.MaxDataBytes,
	MaxChannelsPerCall: protocol.MaxChannelsPerTrigger,
	MaxEventsPerCall:   protocol.MaxBatchEvents,
}

// Event is one envelope: an event name for one or more channels.
type Event struct {
	// Name is the event name the browser binds to ("EmailSent"; Echo
	// listens with .listen('.EmailSent')). Required.
	Name string
	// Channels are full channel names ("private-App.Models.User.42").
	// Required.
	Channels []string
	// Data is marshalled with encoding/json/v2; a jsontext.Value or a
	// []byte holding JSON is sent as it is. Required.
	Data any
	// SocketID leaves that connection out (Laravel's toOthers()).
	SocketID string
	// ID is the idempotency key: with the idempotency table configured,
	// the same id is broadcast once.
	ID string
	// Unoccupied says what happens to channels without a subscriber:
	// events.UnoccupiedSend (the default), UnoccupiedSkip or
	// UnoccupiedFallback (the app emails instead; see README).
	Unoccupied string
}

// Envelope returns e as package events' Envelope, validated.
func (e Event) Envelope() (events.Envelope, error) {
	data, err := marshal("data", e.Data)
	if err != nil {
		return events.Envelope{}, err
	}
	env := events.Envelope{Name: e.Name, Channels: e.Channels, Data: data, SocketID: e.SocketID, ID: e.ID, Unoccupied: e.Unoccupied}
	if err := env.Validate(Limits); err != nil {
		return events.Envelope{}, fmt.Errorf("event %q: %w", e.Name, err)
	}
	return env, nil
}

// Body returns the envelope's JSON, validated.
func (e Event) Body() ([]byte, error) {
	env, err := e.Envelope()
	if err != nil {
		return nil, err
	}
	return json.Marshal(env)
}

// Notification is a Laravel notification: Echo's .notification(callback)
// receives Data plus "id" and "type", on the notifiable's private channel
// (private-App.Models.User.{NotifiableID}) unless Channels are given.
type Notification struct {
	// ID is the notification's id (Laravel uses a UUID); also the
	// idempotency key unless EventID is set. Required.
	ID string
	// Type is the notification class, "App\\Notifications\\EmailSent".
	// Required.
	Type string
	// NotifiableType is the notifiable model's class; default
	// App\Models\User.
	NotifiableType string
	// NotifiableID is the notifiable's key, a string or an integer.
	// Required.
	NotifiableID any
	// Data is the notification's toBroadcast() array: it must marshal to
	// a JSON object. Required.
	Data any
	// Channels replace the notifiable's private channel.
	Channels []string
	// SocketID leaves that connection out.
	SocketID string
	// EventID is the envelope's own idempotency key.
	EventID string
	// Unoccupied is the envelope's: what happens when the notifiable has
	// no open tab.
	Unoccupied string
}

// Body returns the notification form's JSON, validated.
func (n Notification) Body() ([]byte, error) {
	id, err := marshal("notifiable_id", n.NotifiableID)
	if err != nil {
		return nil, err
	}
	data, err := marshal("data", n.Data)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(events.Notification{
		Notification: events.NotificationBody{ID: n.ID, Type: n.Type, NotifiableType: n.NotifiableType, NotifiableID: id, Data: data},
		Channels:     n.Channels, SocketID: n.SocketID, ID: n.EventID, Unoccupied: n.Unoccupied,
	})
	if err != nil {
		return nil, fmt.Errorf("notification %q: %w", n.ID, err)
	}
	if err := Validate(body); err != nil {
		return nil, fmt.Errorf("notification %q: %w", n.ID, err)
	}
	return body, nil
}

// Batch is several envelopes in one message: {"batch": [...]}, at most
// events.MaxBatch. The QueueFunction refuses a batch as a whole when one
// of its envelopes is bad.
type Batch []Event

// Body returns the batch's JSON, validated.
func (b Batch) Body() ([]byte, error) {
	if len(b) > events.MaxBatch {
		return nil, fmt.Errorf("batch: %d events, the limit is %d", len(b), events.MaxBatch)
	}
	out := events.Batch{Batch: make([]jsontext.Value, len(b))}
	for i, e := range b {
		body, err := e.Body()
		if err != nil {
			return nil, fmt.Errorf("batch[%d]: %w", i, err)
		}
		out.Batch[i] = body
	}
	return json.Marshal(out)
}

// Validate checks a trigger body (an envelope, a batch or a notification)
// exactly as the functions will, against Limits.
func Validate(body []byte) error {
	_, err := events.Parse(body, Limits)
	return err
}

// marshal turns a value into JSON; raw JSON is kept as it is.
func marshal(field string, v any) (jsontext.Value, error) {
	switch r := v.(type) {
	case nil:
		return nil, nil
	case jsontext.Value:
		return r, nil
	case []byte:
		return jsontext.Value(r), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return b, nil
}
