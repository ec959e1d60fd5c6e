package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/presence"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// Occupancy tells which channels have a subscriber now. Occupied returns
// the occupied ones among channels (absent means unoccupied). It makes as
// few calls as it can for the whole batch: the presence table one read per
// 100 channels, a ChannelLister one query per distinct prefix.
type Occupancy interface {
	Occupied(ctx context.Context, channels []string) (map[string]bool, error)
}

var _ Occupancy = (*presence.Table)(nil)

// ChannelLister is a provider's channel query: the occupied channels
// whose names start with prefix ("" for all), in one call (Pusher's
// GET /channels?filter_by_prefix=...).
type ChannelLister interface {
	OccupiedChannels(ctx context.Context, prefix string) ([]string, error)
}

// ListedOccupancy is Occupancy over a provider's channel query: one query
// per distinct prefix (see Prefix) of the channels asked about, never one
// per message or channel.
type ListedOccupancy struct {
	Lister ChannelLister
}

// Occupied implements Occupancy.
func (o ListedOccupancy) Occupied(ctx context.Context, channels []string) (map[string]bool, error) {
	prefixes := map[string]bool{}
	for _, ch := range channels {
		prefixes[Prefix(ch)] = true
	}
	listed := map[string]bool{}
	for _, p := range slices.Sorted(maps.Keys(prefixes)) {
		names, err := o.Lister.OccupiedChannels(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("occupied channels with prefix %q: %w", p, err)
		}
		for _, n := range names {
			listed[n] = true
		}
	}
	out := make(map[string]bool, len(channels))
	for _, ch := range channels {
		if listed[ch] {
			out[ch] = true
		}
	}
	return out, nil
}

// Prefix is the prefix a channel is queried under: its name up to the
// last '.' ("private-App.Models.User." for private-App.Models.User.42,
// Laravel's model channels), else its kind's prefix ("presence-",
// "private-", "" for public channels). Channels of one model share a
// prefix, so a batch of notifications to a thousand users is one query.
func Prefix(channel string) string {
	if i := strings.LastIndexByte(channel, '.'); i >= 0 {
		return channel[:i+1]
	}
	return protocol.KindOf(channel).Prefix()
}

// Undelivered is an envelope whose unoccupied channels were not sent to,
// for the app to reach the user another way (BroadcastUndelivered).
type Undelivered struct {
	// Envelope is the envelope as it came, every channel included.
	Envelope events.Envelope
	// Channels are those of its channels that had no subscriber.
	Channels []string
}

// Fallback takes undelivered envelopes, one error per entry (nil when it
// was durably handed over).
type Fallback interface {
	SendUndelivered(ctx context.Context, u []Undelivered) []error
}

// Unoccupied is what delivery needs for envelopes whose "unoccupied" is
// "skip" or "fallback".
type Unoccupied struct {
	// Occupancy answers which channels have a subscriber. nil: such
	// envelopes cannot be delivered as asked and are poison.
	Occupancy Occupancy
	// Fallback takes the "fallback" envelopes' unoccupied channels. nil:
	// "fallback" envelopes are poison.
	Fallback Fallback
	// Log receives a line per batch that skipped channels; nil means
	// slog.Default().
	Log *slog.Logger
}

// errNoOccupancy and errNoFallback make an item poison: the deployment
// cannot do what its envelope asks.
var (
	errNoOccupancy = errors.New(`"unoccupied" needs to know which channels have a subscriber: set PRESENCE_TABLE (the table the WebhookFunction keeps) or use a provider driver (pusher, reverb, ably)`)
	errNoFallback  = errors.New(`"unoccupied": "fallback" needs BROADCAST_FALLBACK_URL (an SQS queue URL or an EventBridge bus ARN)`)
)

// apply removes from b's messages the channels that have no subscriber,
// for envelopes that ask (skip, fallback), and hands the fallback ones to
// u.Fallback. A message left with no channel is not sent; its item is
// delivered all the same. Occupancy is asked once for the whole batch. An
// item whose occupancy or fallback failed is to be retried, and one that
// asks what u cannot do is poison; either way none of its messages is
// sent. u may be nil.
func (u *Unoccupied) apply(ctx context.Context, b *Batch) {
	var asking []int
	var channels []string
	for i := range b.Messages {
		if mode := b.Envelopes[i].Unoccupied; mode != "" && mode != events.UnoccupiedSend {
			asking = append(asking, i)
			channels = append(channels, b.Messages[i].Channels...)
		}
	}
	if len(asking) == 0 {
		return
	}
	fail := func(i int, s Status, err error) {
		o := &b.Outcomes[b.Owner[i]]
		if o.Status == Delivered {
			o.Status, o.Reason, o.Err = s, reason(err), err
		}
	}
	if u == nil || u.Occupancy == nil {
		for _, i := range asking {
			fail(i, Poison, errNoOccupancy)
		}
		b.dropFailed(nil)
		return
	}
	occupied, err := u.Occupancy.Occupied(ctx, channels)
	if err != nil {
		for _, i := range asking {
			fail(i, Retry, fmt.Errorf("delivery: reading channel occupancy: %w", err))
		}
		b.dropFailed(nil)
		return
	}
	drop := make([]bool, len(b.Messages))
	var fallbacks []Undelivered
	var fallbackOf []int
	skipped := 0
	for _, i := range asking {
		m := &b.Messages[i]
		keep := make([]string, 0, len(m.Channels))
		var gone []string
		for _, ch := range m.Channels {
			if occupied[ch] {
				keep = append(keep, ch)
			} else {
				gone = append(gone, ch)
			}
		}
		if len(gone) == 0 {
			continue
		}
		skipped += len(gone)
		if b.Envelopes[i].Unoccupied == events.UnoccupiedFallback {
			if u.Fallback == nil {
				fail(i, Poison, errNoFallback)
				continue
			}
			fallbacks = append(fallbacks, Undelivered{Envelope: *b.Envelopes[i], Channels: gone})
			fallbackOf = append(fallbackOf, i)
		}
		m.Channels = keep // a new slice: the envelope keeps its own
		drop[i] = len(keep) == 0
	}
	if len(fallbacks) > 0 {
		for n, err := range u.Fallback.SendUndelivered(ctx, fallbacks) {
			if err != nil {
				// SQS's verdict that the message itself is at fault (too
				// large) will not change on a retry.
				status := Retry
				if se := (*sqsbatch.Error)(nil); errors.As(err, &se) && se.SenderFault {
					status = Poison
				}
				fail(fallbackOf[n], status, fmt.Errorf("delivery: sending BroadcastUndelivered: %w", err))
			}
		}
	}
	if skipped > 0 {
		log := u.Log
		if log == nil {
			log = slog.Default()
		}
		log.InfoContext(ctx, "channels without a subscriber left out", "channels", skipped, "fallbacks", len(fallbacks))
	}
	b.dropFailed(drop)
}

// dropFailed removes the messages drop marks and every message of an
// item no longer Delivered: those items are retried or dead-lettered as a
// whole, so none of their messages may go now.
func (b *Batch) dropFailed(drop []bool) {
	n := 0
	for i := range b.Messages {
		if (drop != nil && drop[i]) || b.Outcomes[b.Owner[i]].Status != Delivered {
			continue
		}
		b.Messages[n], b.Owner[n], b.Envelopes[n] = b.Messages[i], b.Owner[i], b.Envelopes[i]
		n++
	}
	b.Messages, b.Owner, b.Envelopes = b.Messages[:n], b.Owner[:n], b.Envelopes[:n]
}

// UnoccupiedFromEnv builds what "unoccupied" needs from a trigger
// function's configuration: occupancy from the presence table
// PRESENCE_TABLE names, else from the provider's channel queries (the
// pusher, reverb and ably drivers); the fallback BROADCAST_FALLBACK_URL names. Either
// may be missing: envelopes that need it are then poison, with the reason.
func UnoccupiedFromEnv(env config.Lookup, log *slog.Logger) (*Unoccupied, error) {
	u := &Unoccupied{Log: log}
	table, err := presence.FromEnv(env)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	if table != nil {
		u.Occupancy = table
	} else {
		cfg, err := broadcast.LoadConfig(env)
		if err != nil {
			return nil, err
		}
		q, ok, err := broadcast.NewQuerier(cfg)
		if err != nil {
			return nil, err
		}
		if ok {
			u.Occupancy = ListedOccupancy{Lister: QueriedChannels{Querier: q}}
		}
	}
	if u.Fallback, err = FallbackFromEnv(env); err != nil {
		return nil, err
	}
	return u, nil
}
