package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/metrics"
)

// ErrNoTime is wrapped by the error of a message that was not sent, or not
// sent again, because the invocation's remaining time was within the
// safety margin. It counts as temporary: the trigger redelivers it.
var ErrNoTime = errors.New("retry: no time left before the invocation's safety margin")

// Driver is a broadcast.Driver that retries the temporary failures of the
// driver it wraps, re-sending only the messages that failed.
type Driver struct {
	// The wrapped driver; its Name and Limits are the decorator's, since
	// configuration selects the provider, not the decorator.
	broadcast.Driver
	policy Policy
}

var _ broadcast.Driver = (*Driver)(nil)

// New wraps next with p, whose zero fields take the defaults. A policy
// that fails Validate is a programming error and New panics on it, at
// init; validate policies read from configuration first.
func New(next broadcast.Driver, p Policy) *Driver {
	if next == nil {
		panic("retry: New with a nil driver")
	}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return &Driver{Driver: next, policy: p.withDefaults()}
}

// Broadcast sends msgs through the wrapped driver and re-sends those that
// failed temporarily, after a backoff, until all are sent, MaxAttempts
// calls were made, ctx was cancelled (what it cut short comes back
// temporary), or the next call could not end before ctx's deadline
// minus the safety margin. Every call to the wrapped driver runs under
// that earlier deadline, so nothing is sent in the margin.
//
// It returns nil when all messages were sent. Otherwise it returns a
// *broadcast.BatchError with one entry per message: nil for those sent,
// the last failure for the others, so temporary ones can be reported as
// batch item failures and permanent ones dead-lettered. Permanent failures
// are never re-sent. Re-sent messages may reach a channel after messages
// that followed them in msgs.
func (d *Driver) Broadcast(ctx context.Context, msgs []broadcast.Message) error {
	if len(msgs) == 0 {
		return d.Driver.Broadcast(ctx, msgs)
	}
	errs := make([]error, len(msgs))
	if dl, ok := ctx.Deadline(); ok {
		budget := dl.Add(-d.policy.SafetyMargin)
		if !time.Now().Before(budget) {
			err := d.noTime(0)
			for i := range errs {
				errs[i] = err
			}
			return &broadcast.BatchError{Errs: errs}
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, budget)
		defer cancel()
	}

	pending := make([]int, len(msgs)) // indexes into msgs still to send
	for i := range pending {
		pending[i] = i
	}
	batch, own := msgs, false // batch aliases the caller's msgs until own
	for attempt := 1; ; attempt++ {
		fails := broadcast.Failures(d.Driver.Broadcast(ctx, batch), len(batch))
		retry := pending[:0] // filtered in place: writes trail reads
		for j, err := range fails {
			i := pending[j]
			errs[i] = err
			// A message the rate limiter held back for lack of time would
			// only be held back again: it goes back to the trigger now.
			if err != nil && broadcast.IsTemporary(err) && !broadcast.IsBackoff(err) {
				retry = append(retry, i)
			}
		}
		pending = retry
		if len(pending) == 0 || attempt >= d.policy.MaxAttempts {
			break
		}
		if !d.wait(ctx, attempt) {
			if errors.Is(ctx.Err(), context.Canceled) {
				break // the failures already say the invocation is going away
			}
			// Not enough time for another call: say so beside the failure.
			for _, i := range pending {
				errs[i] = fmt.Errorf("%w after %d attempt(s): %w", ErrNoTime, attempt, errs[i])
			}
			break
		}
		if !own {
			batch, own = make([]broadcast.Message, 0, len(pending)), true
		}
		metrics.From(ctx).Add(metrics.Retries, len(pending))
		batch = batch[:0]
		for _, i := range pending {
			batch = append(batch, msgs[i])
		}
	}
	if slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		return &broadcast.BatchError{Errs: errs}
	}
	return nil
}

// wait sleeps a full-jitter backoff before retry n and reports whether a
// call may follow: false when ctx ended or would end during the wait.
func (d *Driver) wait(ctx context.Context, n int) bool {
	pause := time.Duration(rand.Int64N(int64(d.policy.ceiling(n)) + 1))
	if dl, ok := ctx.Deadline(); ok && !time.Now().Add(pause).Before(dl) {
		return false
	}
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return ctx.Err() == nil
	}
}

// noTime is the error of messages never sent for lack of time.
func (d *Driver) noTime(attempts int) error {
	return &broadcast.Error{Provider: d.Name(), Op: "broadcast", Temporary: true,
		Err: fmt.Errorf("%w (%d attempt(s) made)", ErrNoTime, attempts)}
}
