package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/idempotency"
	"github.com/heraldrt/herald/shared/metrics"
)

// Claims is the idempotency store as Idempotent uses it; *idempotency.Store
// implements it.
type Claims interface {
	Claim(ctx context.Context, keys []string) ([]idempotency.Status, error)
	Complete(ctx context.Context, keys []string) error
	Release(ctx context.Context, keys []string) error
}

// ErrNotClaimed is wrapped by the error of a message that was not broadcast
// because its id is held by another invocation, or because the store could
// not decide. It is temporary: the item is retried, and the retry finds the
// id completed (a no-op) or claimable.
var ErrNotClaimed = errors.New("delivery: message id not claimed")

// Idempotent is a broadcast.Driver that broadcasts each message id once: it
// claims the ids of a call's messages in an idempotency store, sends only
// the claimed ones through the driver it wraps, then marks the sent ones
// completed and releases the failed ones. A message whose id was completed
// already counts as sent; one whose id another invocation holds, or the
// store could not decide, fails temporarily and is never sent.
//
// It sits between Plan and Broadcast: Deliver and Settle see its result as
// any driver's, so a completed redelivery settles as Delivered and an id in
// progress elsewhere as Retry. Wrap a retry.Driver with it, not the other
// way round: retries then happen inside one claim, and the retry driver's
// safety margin leaves the time to complete and release.
type Idempotent struct {
	broadcast.Driver // the wrapped driver, whose Name and Limits are these
	store            Claims
	log              *slog.Logger
}

var _ broadcast.Driver = (*Idempotent)(nil)

// NewIdempotent wraps next with store. log receives the store's failures
// that change no outcome (a key left in progress); nil means
// slog.Default().
func NewIdempotent(next broadcast.Driver, store Claims, log *slog.Logger) *Idempotent {
	if next == nil || store == nil {
		panic("delivery: NewIdempotent needs a driver and a store")
	}
	return &Idempotent{Driver: next, store: store, log: cmp.Or(log, slog.Default())}
}

// Broadcast implements broadcast.Driver. Every message needs an ID (Plan
// always sets one); a message without one is refused as permanent, since
// it could not be deduplicated.
func (d *Idempotent) Broadcast(ctx context.Context, msgs []broadcast.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	errs := make([]error, len(msgs))
	keys := make([]string, 0, len(msgs))
	asked := make([]int, 0, len(msgs)) // asked[j] is the message of keys[j]
	for i, m := range msgs {
		if m.ID == "" {
			errs[i] = &broadcast.Error{Provider: d.Name(), Op: "claim", Err: errors.New("message has no id to deduplicate by")}
			continue
		}
		keys = append(keys, m.ID)
		asked = append(asked, i)
	}
	statuses, claimErr := d.store.Claim(ctx, keys)

	var send []broadcast.Message
	var sent []int // sent[k] is the message of send[k]
	for j, st := range statuses {
		i := asked[j]
		switch st {
		case idempotency.Claimed:
			send = append(send, msgs[i])
			sent = append(sent, i)
		case idempotency.Completed:
			// Broadcast by an earlier delivery: nothing to do.
			metrics.From(ctx).Add(metrics.DuplicatesSuppressed, 1)
		case idempotency.InProgress:
			errs[i] = notClaimed(d.Name(), fmt.Errorf("%w: id %q is being broadcast by another invocation", ErrNotClaimed, msgs[i].ID))
		default:
			cause := cmp.Or(claimErr, errors.New("no decision"))
			errs[i] = notClaimed(d.Name(), fmt.Errorf("%w: id %q: %w", ErrNotClaimed, msgs[i].ID, cause))
		}
	}

	if len(send) > 0 {
		fails := broadcast.Failures(d.Driver.Broadcast(ctx, send), len(send))
		var done, failed []string
		for k, err := range fails {
			errs[sent[k]] = err
			if err == nil {
				done = append(done, send[k].ID)
			} else {
				failed = append(failed, send[k].ID)
			}
		}
		// The claims end at ctx's deadline, and the retry driver stops
		// before it, so ctx still has time for these writes.
		if err := d.store.Complete(ctx, done); err != nil {
			// The messages went out; retrying them would send them again.
			// The keys stay in progress until their claims expire.
			d.log.ErrorContext(ctx, "idempotency: broadcast messages not marked completed; a redelivery after the claim expires repeats them", "error", err)
		}
		if err := d.store.Release(ctx, failed); err != nil {
			d.log.WarnContext(ctx, "idempotency: failed messages not released; their retry waits for the claim to expire", "error", err)
		}
	}
	if slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		return &broadcast.BatchError{Errs: errs}
	}
	return nil
}

// notClaimed is the temporary failure of a message that was not sent for
// want of a claim.
func notClaimed(provider string, err error) error {
	return &broadcast.Error{Provider: provider, Op: "claim", Temporary: true, Err: err}
}
