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

// ablyProvider handles the batched, enveloped webhooks of an Ably
// integration rule signed with the configured key ("Sign with key"):
//
//	{"items": [{"webhookId": "ABcDEf", "source": "channel.presence",
//	  "timestamp": 1562124922426, "name": "presence.message",
//	  "data": {"channelId": "presence:room", "presence": [
//	    {"clientId": "42", "action": 2, "timestamp": 1562124922426}]}}]}
//
// Channels are Ably's names and are mapped back to the Pusher channels
// pusher-js subscribes to through Ably's adapter; items on channels no
// Pusher channel maps to, and channel.message items, are left out.
type ablyProvider struct{ key protocol.AblyKey }

func (ablyProvider) name() string { return "ably" }

func (p ablyProvider) verify(h http.Header, body []byte) error {
	if h.Get("X-Ably-Signature") == "" {
		return errors.New("X-Ably-Signature is missing (turn on \"Sign with key\" in the integration rule)")
	}
	if !signature.Equal(h.Get("X-Ably-Key"), p.key.Name) {
		return errors.New("X-Ably-Key is not the configured key")
	}
	if !signature.Equal(h.Get("X-Ably-Signature"), signature.AblyWebhook(p.key.Secret, body)) {
		return errors.New("X-Ably-Signature does not match the body")
	}
	return nil
}

// Ably's webhook sources herald reads.
const (
	sourceLifecycle = "channel.lifecycle"
	sourceOccupancy = "channel.occupancy"
	sourcePresence  = "channel.presence"
)

// Ably's presence actions, as webhooks carry them (numbers).
const (
	actionAbsent  = 0
	actionPresent = 1
	actionEnter   = 2
	actionLeave   = 3
	actionUpdate  = 4
)

type ablyBody struct {
	Items []ablyItem `json:"items"`
}

type ablyItem struct {
	Source    string   `json:"source"`
	Name      string   `json:"name"`
	Timestamp int64    `json:"timestamp"`
	Data      ablyData `json:"data"`
}

type ablyData struct {
	ChannelID string         `json:"channelId"`
	Presence  []ablyPresence `json:"presence"`
	Status    *struct {
		IsActive  bool `json:"isActive"`
		Occupancy struct {
			Metrics struct {
				Connections int `json:"connections"`
				Subscribers int `json:"subscribers"`
			} `json:"metrics"`
		} `json:"occupancy"`
	} `json:"status"`
}

type ablyPresence struct {
	ClientID     string `json:"clientId"`
	ConnectionID string `json:"connectionId"`
	Action       *int   `json:"action"`
	Timestamp    int64  `json:"timestamp"`
}

func (ablyProvider) parse(body []byte) ([]presence.Event, error) {
	var b ablyBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("body is not an enveloped Ably webhook batch: %w", err)
	}
	if b.Items == nil {
		return nil, errors.New("items is missing (herald takes batched, enveloped Ably webhooks)")
	}
	var out []presence.Event
	for i, it := range b.Items {
		if it.Source != sourceLifecycle && it.Source != sourceOccupancy && it.Source != sourcePresence {
			continue
		}
		if it.Data.ChannelID == "" {
			return nil, fmt.Errorf("items[%d].data.channelId is missing", i)
		}
		if it.Timestamp <= 0 {
			return nil, fmt.Errorf("items[%d].timestamp is missing", i)
		}
		channel, ok := protocol.PusherChannel(it.Data.ChannelID)
		if !ok {
			continue // an Ably channel no pusher-js client can be on
		}
		at := time.UnixMilli(it.Timestamp)
		switch it.Source {
		case sourceLifecycle:
			switch it.Name {
			case "channel.opened":
				out = append(out, presence.Event{Name: presence.ChannelOccupied, Channel: channel, Time: at})
			case "channel.closed":
				out = append(out, presence.Event{Name: presence.ChannelVacated, Channel: channel, Time: at})
			}
		case sourceOccupancy:
			if it.Data.Status == nil {
				return nil, fmt.Errorf("items[%d].data.status is missing", i)
			}
			m := it.Data.Status.Occupancy.Metrics
			name := presence.ChannelVacated
			if m.Connections > 0 {
				name = presence.ChannelOccupied
			}
			out = append(out, presence.Event{Name: name, Channel: channel, Time: at, SubscriptionCount: m.Subscribers})
		case sourcePresence:
			for j, pm := range it.Data.Presence {
				if pm.Action == nil || pm.ClientID == "" {
					return nil, fmt.Errorf("items[%d].data.presence[%d]: action and clientId are required", i, j)
				}
				var name string
				switch *pm.Action {
				case actionEnter, actionPresent:
					name = presence.MemberAdded
				case actionLeave, actionAbsent:
					name = presence.MemberRemoved
				case actionUpdate:
					continue // the member stays
				default:
					return nil, fmt.Errorf("items[%d].data.presence[%d]: unknown action %d", i, j, *pm.Action)
				}
				t := at
				if pm.Timestamp > 0 {
					t = time.UnixMilli(pm.Timestamp)
				}
				out = append(out, presence.Event{Name: name, Channel: channel, UserID: pm.ClientID, Time: t})
			}
		}
	}
	return out, nil
}
