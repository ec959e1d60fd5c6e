package protocol

// Webhook is the body of a Pusher webhook request: one time for the
// request (when it was sent) and its events. The WebhookFunction reads it;
// the embedded server writes it.
type Webhook struct {
	TimeMS int64          `json:"time_ms"`
	Events []WebhookEvent `json:"events"`
}

// WebhookEvent is one event of a webhook. Name is channel_occupied,
// channel_vacated, member_added, member_removed, client_event,
// subscription_count or cache_miss; the other fields are set as the event
// has them.
type WebhookEvent struct {
	Name              string `json:"name"`
	Channel           string `json:"channel"`
	UserID            string `json:"user_id,omitempty"`
	Event             string `json:"event,omitempty"`
	Data              string `json:"data,omitempty"`
	SocketID          string `json:"socket_id,omitempty"`
	SubscriptionCount int    `json:"subscription_count,omitempty"`
}
