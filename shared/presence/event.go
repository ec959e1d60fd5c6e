package presence

import "time"

// The events Pusher's webhooks carry, and that Ably's are mapped to.
const (
	ChannelOccupied   = "channel_occupied"
	ChannelVacated    = "channel_vacated"
	MemberAdded       = "member_added"
	MemberRemoved     = "member_removed"
	ClientEvent       = "client_event"
	SubscriptionCount = "subscription_count"
	CacheMiss         = "cache_miss"
)

// Known reports whether name is one of the webhook events above.
func Known(name string) bool {
	switch name {
	case ChannelOccupied, ChannelVacated, MemberAdded, MemberRemoved, ClientEvent, SubscriptionCount, CacheMiss:
		return true
	}
	return false
}

// Event is one webhook event, in Pusher's terms whichever provider sent it.
type Event struct {
	// Name is one of the constants above.
	Name string
	// Channel is the Pusher channel name (an Ably channel mapped back).
	Channel string
	// UserID is the member of a member_added or member_removed event, and
	// the sender of a client event on a presence channel.
	UserID string
	// Time is when the provider says the event happened; it orders writes.
	Time time.Time
	// Event, Data and SocketID are a client event's.
	Event, Data, SocketID string
	// SubscriptionCount is a subscription_count event's count.
	SubscriptionCount int
}

// changes reports whether the event moves the table, and the row and
// state it writes.
func (e Event) changes() (sort, state string, ok bool) {
	switch e.Name {
	case ChannelOccupied:
		return channelSort, stateOccupied, true
	case ChannelVacated:
		return channelSort, stateVacated, true
	case MemberAdded:
		return memberPrefix + e.UserID, statePresent, e.UserID != ""
	case MemberRemoved:
		return memberPrefix + e.UserID, stateAbsent, e.UserID != ""
	}
	return "", "", false
}
