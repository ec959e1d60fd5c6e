package broadcast

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// prepareAhead is how many calls per request in flight a network driver
// works on at once: the ones on the network, and as many being prepared to
// follow them the moment a slot frees.
const prepareAhead = 2

// call is one planned provider request.
type call struct {
	// op names the provider operation for errors: "batch_events", "trigger".
	op string
	// channels are every channel the request names; requests that share one
	// run in plan order, never at the same time.
	channels []string
	// msgs are the indexes of the messages the request carries, and parts,
	// parallel to it, the channels each of them is sent to by this request.
	msgs  []int
	parts [][]string
}

// runCalls executes calls, at most limit at a time, and spreads their
// outcome over the n messages: the result is nil when every message was sent,
// else a *BatchError. pre holds failures found before planning; it may be
// nil. The network drivers pass prepareAhead times their concurrency as
// limit: some calls are being encoded and signed while the others are on the
// network, where their transport admits no more than the concurrency.
//
// Ordering: a call waits for the previous call on each of its channels, so
// events on one channel reach the provider in plan order while calls on
// unrelated channels overlap. When a call fails temporarily its channels are
// held: later messages on them are not sent (they would overtake the failed
// ones on a retry) and report a temporary error, while the other messages of
// their calls still go. After a permanent failure nothing is held, since the
// failed events will never be delivered anyway.
//
// do returns nil, an error for the whole call, or a *BatchError parallel to
// c.msgs when the provider reported per message.
//
// Once ctx is done no call is started; their messages report ctx's error,
// which is temporary.
func runCalls(ctx context.Context, provider string, n int, pre []error, calls []call, limit int, do func(ctx context.Context, c *call) error) error {
	out := pre
	if out == nil {
		out = make([]error, n)
	}
	s := newScheduler(ctx, provider, calls, out)
	s.run(limit, do)
	return s.result()
}

// scheduler runs the calls of one Broadcast in dependency order and keeps
// what became of each message.
type scheduler struct {
	ctx      context.Context
	provider string
	calls    []call
	// next[i] lists the calls that wait for call i; it is fixed before the
	// first call starts.
	next [][]int
	// ready receives each call once every call it waits for has finished.
	ready chan int

	mu sync.Mutex // guards the fields below
	// waits[i] counts the unfinished calls that call i waits for.
	waits []int
	// out holds each message's failure, failed whether any is set.
	out    []error
	failed bool
	// held maps a channel to the temporary failure holding it back.
	held     map[string]error
	finished int
}

// newScheduler links calls into their dependency graph. out has one entry
// per message, set for those that already failed.
func newScheduler(ctx context.Context, provider string, calls []call, out []error) *scheduler {
	s := &scheduler{
		ctx:      ctx,
		provider: provider,
		calls:    calls,
		next:     make([][]int, len(calls)),
		ready:    make(chan int, len(calls)),
		waits:    make([]int, len(calls)),
		out:      out,
		failed:   slices.ContainsFunc(out, func(err error) bool { return err != nil }),
	}
	named := 0
	for i := range calls {
		named += len(calls[i].channels)
	}
	last := make(map[string]int, named) // channel -> last call naming it
	for i := range calls {
		for _, ch := range calls[i].channels {
			prev, ok := last[ch]
			last[ch] = i
			// Calls are linked in order, so when call i shares several
			// channels with prev, it is already last in next[prev].
			if !ok || prev == i || (len(s.next[prev]) > 0 && s.next[prev][len(s.next[prev])-1] == i) {
				continue
			}
			s.next[prev] = append(s.next[prev], i)
			s.waits[i]++
		}
	}
	for i, w := range s.waits {
		if w == 0 {
			s.ready <- i
		}
	}
	return s
}

// run executes the calls on up to limit workers and returns when all have
// finished.
func (s *scheduler) run(limit int, do func(ctx context.Context, c *call) error) {
	if len(s.calls) == 0 {
		return
	}
	var wg sync.WaitGroup
	for range max(1, min(limit, len(s.calls))) {
		wg.Go(func() { s.work(do) })
	}
	wg.Wait()
}

// work runs ready calls until every call has finished: the decision of what
// to send and the bookkeeping afterwards under mu, the request without it.
func (s *scheduler) work(do func(ctx context.Context, c *call) error) {
	for i := range s.ready {
		s.mu.Lock()
		c := s.start(i)
		s.mu.Unlock()
		var err error
		if c != nil {
			err = do(s.ctx, c)
		}
		s.mu.Lock()
		s.finish(i, c, err)
		s.mu.Unlock()
	}
}

// start decides what of call i may be sent: the whole call, the messages of
// it on no held channel, or nothing (nil). The messages it keeps back fail.
// Called with mu held.
func (s *scheduler) start(i int) *call {
	c := &s.calls[i]
	if err := s.ctx.Err(); err != nil {
		s.fail(c.msgs, &Error{Provider: s.provider, Op: c.op, Temporary: TemporaryCause(err),
			Err: fmt.Errorf("not sent: %w", err)})
		return nil
	}
	if len(s.held) == 0 {
		return c
	}
	var sendable *call // nil while every message so far may go
	for j, part := range c.parts {
		if cause := s.holder(part); cause != nil {
			s.fail(c.msgs[j:j+1], &Error{Provider: s.provider, Op: c.op, Temporary: true,
				Err: fmt.Errorf("not sent: an earlier request on its channel failed: %w", cause)})
			// Its other channels are held too: a later message on them
			// would overtake this one.
			s.hold(part, cause)
			if sendable == nil {
				sendable = &call{op: c.op, msgs: slices.Clone(c.msgs[:j]), parts: slices.Clone(c.parts[:j])}
			}
			continue
		}
		if sendable != nil {
			sendable.msgs = append(sendable.msgs, c.msgs[j])
			sendable.parts = append(sendable.parts, part)
		}
	}
	switch {
	case sendable == nil:
		return c
	case len(sendable.msgs) == 0:
		return nil
	}
	for _, part := range sendable.parts {
		for _, ch := range part {
			if !slices.Contains(sendable.channels, ch) {
				sendable.channels = append(sendable.channels, ch)
			}
		}
	}
	return sendable
}

// finish records the result err of sending sent (nil when nothing of call i
// was) and releases the calls waiting for call i. Called with mu held.
func (s *scheduler) finish(i int, sent *call, err error) {
	if sent != nil && err != nil {
		s.failCall(sent, err)
	}
	for _, d := range s.next[i] {
		s.waits[d]--
		if s.waits[d] == 0 {
			s.ready <- d
		}
	}
	s.finished++
	if s.finished == len(s.calls) {
		close(s.ready)
	}
}

// failCall records the failure of a sent call: per message when the
// provider answered per message (Ably's batch results), else for all of
// them. A temporary failure holds the channels it was sent to.
func (s *scheduler) failCall(sent *call, err error) {
	var per *BatchError
	if !errors.As(err, &per) || len(per.Errs) != len(sent.msgs) {
		s.fail(sent.msgs, err)
		if IsTemporary(err) {
			s.hold(sent.channels, err)
		}
		return
	}
	for j, e := range per.Errs {
		if e == nil {
			continue
		}
		s.fail(sent.msgs[j:j+1], e)
		if IsTemporary(e) {
			s.hold(sent.parts[j], e)
		}
	}
}

// fail sets err as the failure of msgs that have none yet.
func (s *scheduler) fail(msgs []int, err error) {
	s.failed = true
	for _, m := range msgs {
		if s.out[m] == nil {
			s.out[m] = err
		}
	}
}

// hold holds chans back for the temporary failure err, unless one already
// does.
func (s *scheduler) hold(chans []string, err error) {
	if s.held == nil {
		s.held = make(map[string]error)
	}
	for _, ch := range chans {
		if _, ok := s.held[ch]; !ok {
			s.held[ch] = err
		}
	}
}

// holder returns the failure holding back one of chans, nil when none is.
func (s *scheduler) holder(chans []string) error {
	for _, ch := range chans {
		if err := s.held[ch]; err != nil {
			return err
		}
	}
	return nil
}

// result is nil when every message was sent, else a *BatchError over all of
// them.
func (s *scheduler) result() error {
	if !s.failed {
		return nil
	}
	return &BatchError{Errs: s.out}
}
