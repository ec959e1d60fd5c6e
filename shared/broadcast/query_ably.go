package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ably/ably-go/ably"

	"github.com/heraldrt/herald/shared/protocol"
)

// ablyMaxPages bounds a channel listing: Ably pages it 1,000 at a time.
const ablyMaxPages = 100

// The queries ask Ably's REST API about the Ably channels the Pusher
// adapter maps Pusher channels to (channel status and occupancy, channel
// enumeration, presence) and answer in Pusher's shapes:
// subscription_count is the occupancy's subscribers, user_count its
// presence members (Ably counts members per connection where Pusher counts
// distinct users, so a user with two tabs may count twice), and a channel is
// occupied while it has connections.

// ablyDetails is Ably's ChannelDetails.
type ablyDetails struct {
	ChannelID string `json:"channelId"`
	Status    struct {
		IsActive  bool `json:"isActive"`
		Occupancy struct {
			Metrics struct {
				Connections     int `json:"connections"`
				Subscribers     int `json:"subscribers"`
				PresenceMembers int `json:"presenceMembers"`
			} `json:"metrics"`
		} `json:"occupancy"`
	} `json:"status"`
}

func (d *ablyDetails) counts(info protocol.Info) Counts {
	m := d.Status.Occupancy.Metrics
	var c Counts
	if info.UserCount {
		n := m.PresenceMembers
		c.UserCount = &n
	}
	if info.SubscriptionCount {
		n := m.Subscribers
		c.SubscriptionCount = &n
	}
	return c
}

// Channels implements Querier.
func (a *Ably) Channels(ctx context.Context, prefix string, info protocol.Info) (map[string]Counts, error) {
	params := url.Values{"by": {"value"}, "limit": {"1000"}}
	if p, ok := protocol.AblyPrefix(prefix); ok {
		params.Set("prefix", p)
	}
	rec := &response{}
	ctx = withResponse(ctx, rec)
	pages, err := a.rest.Request(http.MethodGet, "/channels", ably.RequestWithParams(params)).Pages(ctx)
	if err := a.queryError("channels", rec, err); err != nil {
		return nil, err
	}
	out := map[string]Counts{}
	for n := 0; n < ablyMaxPages && pages.Next(ctx); n++ {
		var page []ablyDetails
		if err := pages.Items(&page); err != nil {
			return nil, &Error{Provider: "ably", Op: "channels", Err: fmt.Errorf("reading the answer: %w", err)}
		}
		for i := range page {
			d := &page[i]
			name, ok := protocol.PusherChannel(d.ChannelID)
			if !ok || !strings.HasPrefix(name, prefix) || d.Status.Occupancy.Metrics.Connections == 0 {
				continue
			}
			out[name] = d.counts(info)
		}
	}
	if err := pages.Err(); err != nil {
		return nil, a.queryError("channels", rec, err)
	}
	return out, nil
}

// Channel implements Querier. Ably answers 404 for a channel that was
// never active: unoccupied, for Pusher.
func (a *Ably) Channel(ctx context.Context, name string, info protocol.Info) (ChannelState, error) {
	ch, err := protocol.AblyChannel(name)
	if err != nil {
		return ChannelState{}, &Error{Provider: "ably", Op: "channel", StatusCode: http.StatusBadRequest, Err: err}
	}
	rec := &response{}
	_, err = a.rest.Request(http.MethodGet, "/channels/"+url.PathEscape(ch)).Pages(withResponse(ctx, rec))
	var d ablyDetails
	if status, _, _ := rec.get(); status != http.StatusNotFound {
		if err := a.queryError("channel", rec, err); err != nil {
			return ChannelState{}, err
		}
		_, body, _ := rec.get()
		if err := json.Unmarshal(body, &d); err != nil {
			return ChannelState{}, &Error{Provider: "ably", Op: "channel", Err: fmt.Errorf("reading the answer: %w", err)}
		}
	}
	return ChannelState{Occupied: d.Status.Occupancy.Metrics.Connections > 0, Counts: d.counts(info)}, nil
}

// Users implements Querier: the distinct client ids present on the
// channel, in Ably's order.
func (a *Ably) Users(ctx context.Context, name string) ([]string, error) {
	ch, err := protocol.AblyChannel(name)
	if err != nil {
		return nil, &Error{Provider: "ably", Op: "users", StatusCode: http.StatusBadRequest, Err: err}
	}
	rec := &response{}
	ctx = withResponse(ctx, rec)
	pages, err := a.rest.Channels.Get(ch).Presence.Get(ably.GetPresenceWithLimit(1000)).Pages(ctx)
	if err := a.queryError("users", rec, err); err != nil {
		return nil, err
	}
	ids := []string{}
	seen := map[string]bool{}
	for n := 0; n < ablyMaxPages && pages.Next(ctx); n++ {
		for _, m := range pages.Items() {
			if m.ClientID != "" && !seen[m.ClientID] {
				seen[m.ClientID] = true
				ids = append(ids, m.ClientID)
			}
		}
	}
	if err := pages.Err(); err != nil {
		return nil, a.queryError("users", rec, err)
	}
	return ids, nil
}

// errAblyTerminate says why TerminateUser cannot work on Ably.
var errAblyTerminate = errors.New("terminate_connections is not available with BROADCAST_CONNECTION=ably: " +
	"Ably's Pusher adapter offers no way to close one user's connections, and ably-go v1.4.1 has no token revocation")

// TerminateUser implements Querier: it always fails with 501.
func (a *Ably) TerminateUser(ctx context.Context, userID string) error {
	return unsupported("ably", "terminate_connections", errAblyTerminate)
}

// queryError turns a query's answer into nil or an *Error, as send does for
// a publish: nil only for a 2xx answer the SDK could read.
func (a *Ably) queryError(op string, rec *response, sdkErr error) error {
	status, body, transportErr := rec.get()
	switch {
	case status >= 200 && status < 300 && sdkErr == nil:
		return nil
	case status >= 200 && status < 300:
		return &Error{Provider: "ably", Op: op, Err: fmt.Errorf("reading the answer: %w", sdkErr)}
	case status != 0:
		top := ablyError(body)
		msg := top.Message
		if msg == "" {
			msg = bodyExcerpt(body)
		}
		return &Error{Provider: "ably", Op: op, StatusCode: status, Code: top.Code, Temporary: TemporaryStatus(status), Err: errors.New(msg)}
	case transportErr != nil:
		return &Error{Provider: "ably", Op: op, Temporary: TemporaryCause(transportErr), Err: transportErr}
	case sdkErr != nil:
		return &Error{Provider: "ably", Op: op, Temporary: TemporaryCause(sdkErr), Err: sdkErr}
	}
	return &Error{Provider: "ably", Op: op, Err: errors.New("no answer")}
}
