package broadcast

import (
	"context"
	"net/http"

	"github.com/heraldrt/herald/shared/protocol"
)

// Counts are a channel's numbers as Pusher's HTTP API reports them; a nil
// count was not asked for.
type Counts struct {
	UserCount         *int `json:"user_count,omitempty"`
	SubscriptionCount *int `json:"subscription_count,omitempty"`
}

// ChannelState is one channel as GET /apps/{app_id}/channels/{name}
// answers it.
type ChannelState struct {
	Occupied bool `json:"occupied"`
	Counts
}

// Querier asks the provider about channels and users, answering in Pusher's
// terms whatever the provider: channel names are Pusher's, counts are
// Pusher's attributes. Callers validate channel names and info (package
// protocol) first.
//
// Errors are *Error: StatusCode is the provider's status when it refused
// the request (a 4xx the caller may pass on), 501 for what the provider
// cannot do at all, 0 when no answer came. No method outlives ctx; all are
// safe for concurrent use.
type Querier interface {
	// Channels lists the occupied channels whose names start with prefix,
	// with the counts info asks for.
	Channels(ctx context.Context, prefix string, info protocol.Info) (map[string]Counts, error)
	// Channel describes one channel, occupied or not.
	Channel(ctx context.Context, name string, info protocol.Info) (ChannelState, error)
	// Users lists the ids of the users on a presence channel.
	Users(ctx context.Context, name string) ([]string, error)
	// TerminateUser closes every connection of a signed-in user.
	TerminateUser(ctx context.Context, userID string) error
}

var (
	_ Querier = (*Pusher)(nil)
	_ Querier = (*Ably)(nil)
)

// NewQuerier returns the Querier of the driver cfg selects, and false for
// the log and null drivers, which have no provider to ask. It does no I/O.
func NewQuerier(cfg Config) (Querier, bool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, false, err
	}
	switch cfg.Connection {
	case "pusher", "reverb", "ably":
		q, err := newNetwork(cfg)
		return q, err == nil, err
	}
	return nil, false, nil
}

// unsupported is the *Error of a query the provider cannot answer.
func unsupported(provider, op string, err error) *Error {
	return &Error{Provider: provider, Op: op, StatusCode: http.StatusNotImplemented, Err: err}
}
