package events

import (
	"bytes"
	"cmp"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"strings"
)

// NotificationEvent is the event name Laravel broadcasts notifications
// under, and that Laravel Echo's .notification(callback) listens for.
const NotificationEvent = `Illuminate\Notifications\Events\BroadcastNotificationCreated`

// DefaultNotifiableType is the notifiable model when none is named.
const DefaultNotifiableType = `App\Models\User`

// Notification is the notification form of an envelope: what Laravel's
// BroadcastChannel sends for a notification's toBroadcast() data.
//
//	{"notification": {"id": "...", "type": "App\\Notifications\\EmailSent",
//	  "notifiable_type": "App\\Models\\User", "notifiable_id": 42,
//	  "data": {"subject": "Welcome"}}}
//
// The browser receives data plus "id" and "type", on the notifiable's
// private channel (private-App.Models.User.42) unless channels are given.
type Notification struct {
	Notification NotificationBody `json:"notification"`
	Channels     []string         `json:"channels,omitempty"`
	Channel      string           `json:"channel,omitempty"`
	SocketID     string           `json:"socket_id,omitempty"`
	ID           string           `json:"id,omitempty"`
}

// NotificationBody describes the notification itself.
type NotificationBody struct {
	// ID is the notification's id (Laravel uses a UUID). It is also the
	// envelope's idempotency key unless the envelope gives its own.
	ID string `json:"id"`
	// Type is the notification class, "App\\Notifications\\EmailSent".
	Type string `json:"type"`
	// NotifiableType is the notifiable model's class; default App\Models\User.
	NotifiableType string `json:"notifiable_type,omitempty"`
	// NotifiableID is the notifiable's key, a string or a number.
	NotifiableID jsontext.Value `json:"notifiable_id"`
	// Data is the notification's toBroadcast() array: a JSON object.
	Data jsontext.Value `json:"data"`
}

func decodeNotification(raw []byte) (Envelope, error) {
	var n Notification
	if err := json.Unmarshal(raw, &n, json.RejectUnknownMembers(true)); err != nil {
		return Envelope{}, decodeError(err)
	}
	b := n.Notification
	if b.ID == "" {
		return Envelope{}, invalid("notification.id", "is required")
	}
	if b.Type == "" {
		return Envelope{}, invalid("notification.type", "is required")
	}
	var data map[string]jsontext.Value
	if len(b.Data) == 0 || json.Unmarshal(b.Data, &data) != nil || data == nil {
		return Envelope{}, invalid("notification.data", "must be a JSON object")
	}
	data["id"], _ = json.Marshal(b.ID)
	data["type"], _ = json.Marshal(b.Type)
	// Sorted members, as the payload was before and as Echo's tests read it.
	payload, err := json.Marshal(data, json.Deterministic(true))
	if err != nil {
		return Envelope{}, invalid("notification.data", "%v", err)
	}

	e := Envelope{Name: NotificationEvent, Channel: n.Channel, Channels: n.Channels, Data: payload, SocketID: n.SocketID, ID: n.ID}
	if err := foldChannel(&e); err != nil {
		return Envelope{}, err
	}
	if len(e.Channels) == 0 {
		id, err := notifiableKey(b.NotifiableID)
		if err != nil {
			return Envelope{}, err
		}
		typ := cmp.Or(b.NotifiableType, DefaultNotifiableType)
		// Laravel's default receivesBroadcastNotificationsOn: the class name
		// with backslashes as dots, then the key, as a private channel.
		e.Channels = []string{"private-" + strings.ReplaceAll(typ, `\`, ".") + "." + id}
	}
	e.ID = cmp.Or(e.ID, b.ID)
	return e, nil
}

func notifiableKey(raw jsontext.Value) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", invalid("notification.notifiable_id", "is required unless channels are given")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return "", invalid("notification.notifiable_id", "is empty")
		}
		return s, nil
	}
	if raw.Kind() == '0' {
		return string(raw), nil
	}
	return "", invalid("notification.notifiable_id", "must be a string or a number")
}
