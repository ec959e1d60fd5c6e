package webhook

import (
	"encoding/json/v2"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/heraldrt/herald/shared/presence"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// pusherProvider handles Pusher's webhooks:
//
//	{"time_ms": 1327078148132, "events": [{"name": "member_added",
//	 "channel": "presence-room", "user_id": "42"}]}
type pusherProvider struct{ key, secret string }

func (pusherProvider) name() string { return "pusher" }

func (p pusherProvider) verify(h http.Header, body []byte) error {
	// Both compared in constant time: neither may be guessed a byte at a time.
	if !signature.Equal(h.Get("X-Pusher-Key"), p.key) {
		return errors.New("X-Pusher-Key is not this app's key")
	}
	if !signature.Equal(h.Get("X-Pusher-Signature"), signature.Webhook(p.secret, body)) {
		return errors.New("X-Pusher-Signature does not match the body")
	}
	return nil
}

func (pusherProvider) parse(body []byte) ([]presence.Event, error) {
	var b protocol.Webhook
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("body is not a Pusher webhook: %w", err)
	}
	if b.TimeMS <= 0 {
		return nil, errors.New("time_ms is missing")
	}
	if b.Events == nil {
		return nil, errors.New("events is missing")
	}
	at := time.UnixMilli(b.TimeMS)
	out := make([]presence.Event, 0, len(b.Events))
	for i, e := range b.Events {
		if !presence.Known(e.Name) {
			continue // an event Pusher added after herald was built
		}
		if err := protocol.ValidateChannel(e.Channel); err != nil {
			return nil, fmt.Errorf("events[%d].channel: %w", i, err)
		}
		if (e.Name == presence.MemberAdded || e.Name == presence.MemberRemoved) && e.UserID == "" {
			return nil, fmt.Errorf("events[%d]: %s without user_id", i, e.Name)
		}
		out = append(out, presence.Event{
			Name: e.Name, Channel: e.Channel, UserID: e.UserID, Time: at,
			Event: e.Event, Data: e.Data, SocketID: e.SocketID, SubscriptionCount: e.SubscriptionCount,
		})
	}
	return out, nil
}
