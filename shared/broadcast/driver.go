package broadcast

import (
	"context"
)

// Message is one event to broadcast on one or more channels.
type Message struct {
	// Name is the event name pusher-js binds to ("EmailSent").
	Name string
	// Channels are full Pusher channel names ("private-App.Models.User.42").
	// A driver splits lists longer than its provider allows per call.
	Channels []string
	// Data is the event payload as Pusher carries it: a string, usually
	// holding JSON.
	Data string
	// SocketID, when set, excludes that connection from delivery (Laravel's
	// toOthers()). Drivers that cannot express it say so in their docs.
	SocketID string
	// ID identifies the message for deduplication: the envelope's id, or the
	// trigger's identity (an SQS messageId, a stream record's eventID).
	ID string
}

// Limits are the sizes a driver's provider accepts.
type Limits struct {
	// MaxDataBytes is the largest Data of one event (Pusher 10 KB, Ably 64 KiB).
	MaxDataBytes int
	// MaxChannelsPerCall is how many channels one provider call may name;
	// longer lists are split, not refused.
	MaxChannelsPerCall int
	// MaxEventsPerCall is how many events one batch call may carry.
	MaxEventsPerCall int
}

// Driver broadcasts messages.
//
// Broadcast returns nil when every message was accepted by the provider. On
// failure it returns an error from which Failures recovers, per message, what
// failed and whether it is worth retrying: a *BatchError when only some
// messages failed, or an *Error that applies to all of them. Within one call,
// events on the same channel are sent in the order given. Broadcast never
// outlives ctx. It is safe for concurrent use.
type Driver interface {
	Broadcast(ctx context.Context, msgs []Message) error
	// Limits returns what the driver's provider accepts; callers validate
	// against it before broadcasting so that oversize input fails alone.
	Limits() Limits
	// Name is the BROADCAST_CONNECTION value that selects the driver.
	Name() string
}
