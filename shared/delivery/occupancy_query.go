package delivery

import (
	"context"
	"fmt"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/protocol"
)

// QueriedChannels is the ChannelLister over a driver's channel queries
// (broadcast.Querier): Pusher's GET /channels?filter_by_prefix=..., Ably's
// channel enumeration mapped back to Pusher names.
type QueriedChannels struct {
	Querier broadcast.Querier
}

var _ ChannelLister = QueriedChannels{}

// OccupiedChannels implements ChannelLister: one provider query.
func (q QueriedChannels) OccupiedChannels(ctx context.Context, prefix string) ([]string, error) {
	counts, err := q.Querier.Channels(ctx, prefix, protocol.Info{})
	if err != nil {
		return nil, fmt.Errorf("querying the provider's channels: %w", err)
	}
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	return names, nil
}
