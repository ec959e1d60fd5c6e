package broadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultConcurrency is how many provider requests a network driver keeps in
// flight when its config leaves Concurrency at zero.
//
// A broadcast function mostly waits on round trips, so wall time is about
// calls / concurrency x RTT. At 16, the 1,000 batch_events calls of a
// 10,000-event SQS batch take about 63 round trips (1.3 s at 20 ms), well
// inside any Lambda timeout, while staying far below the connection counts
// at which hosted providers start answering 429. Higher values trade that
// margin for speed; BROADCAST_CONCURRENCY sets it per function. Measured
// on a shared 2-core machine against a 20 ms stand-in (BenchmarkPusherRTT20ms),
// 10,000 events took 1.7 s at 16 (1.3x the floor) and 0.7 s at 64, where the
// CPU rather than the round trips became the limit: a small Lambda, with a
// fraction of a vCPU, gains less still.
const DefaultConcurrency = 16

// prepareAhead is how many calls per request in flight a network driver
// works on at once: the ones on the network, and as many being prepared to
// follow them the moment a slot frees.
const prepareAhead = 2

// MaxConcurrency bounds BROADCAST_CONCURRENCY: beyond it the provider's rate
// limits, not the function, decide the speed.
const MaxConcurrency = 256

// DefaultRequestTimeout bounds one provider request when the caller's
// context has no earlier deadline, so a stalled connection cannot hold a
// worker forever.
const DefaultRequestTimeout = 10 * time.Second

// maxRecordedBody bounds how much of a provider response is kept for error
// messages and per-item results.
const maxRecordedBody = 1 << 20

// newHTTPClient returns the keep-alive client a network driver uses for its
// whole life: the pool holds as many connections per host as there are
// requests in flight, so no request waits for a connection and none is
// reopened. Its transport admits concurrency requests to the network at a
// time and bounds each by the per-request timeout from the moment it is
// admitted. A caller-supplied client keeps its transport; its Timeout, if
// any, becomes the per-request timeout.
func newHTTPClient(given *http.Client, concurrency int) *http.Client {
	timeout := DefaultRequestTimeout
	if given != nil {
		if given.Timeout > 0 {
			timeout = given.Timeout
		}
		base := given.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		c := *given
		c.Timeout = 0 // the transport applies the timeout once a request is admitted
		c.Transport = newRecordingTransport(base, concurrency, timeout)
		return &c
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency * 2
	t.MaxIdleConnsPerHost = concurrency
	t.MaxConnsPerHost = concurrency
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: newRecordingTransport(t, concurrency, timeout)}
}

// response is what a provider answered to one call, captured below the SDK:
// neither SDK returns the status and body of a failed request in a typed
// form (pusher-http-go formats them into a string; ably-go consumes the body
// of an error response). The last attempt wins when an SDK retries.
type response struct {
	mu     sync.Mutex
	status int
	body   []byte
	err    error
}

func (r *response) get() (int, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.body, r.err
}

type responseKey struct{}

// withResponse returns a context whose requests record into r.
func withResponse(ctx context.Context, r *response) context.Context {
	return context.WithValue(ctx, responseKey{}, r)
}

// recordingTransport records status and body of each response into the
// *response its request's context carries. When bound is set, every request
// is also re-parented onto it: pusher-http-go builds requests without a
// context, so this is how its requests learn the invocation's deadline.
//
// It is also where requests meet the network: at most cap(slots) at a time.
// The drivers prepare up to twice that many requests at once (encoding and
// signing them), so when an answer frees a slot, a prepared request leaves
// at once instead of being built then, while the round trips of the others
// are under way. A request's timeout starts when it is admitted, so the
// wait for a slot never eats into it.
type recordingTransport struct {
	base    http.RoundTripper
	bound   context.Context
	slots   chan struct{}
	timeout time.Duration
}

func newRecordingTransport(base http.RoundTripper, concurrency int, timeout time.Duration) *recordingTransport {
	return &recordingTransport{base: base, slots: make(chan struct{}, max(concurrency, 1)), timeout: timeout}
}

// with returns a copy of t whose requests are bound to ctx; it shares t's
// slots.
func (t *recordingTransport) with(ctx context.Context) *recordingTransport {
	c := *t
	c.bound = ctx
	return &c
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.bound != nil {
		req = req.WithContext(t.bound)
	}
	rec, _ := req.Context().Value(responseKey{}).(*response)
	resp, err := t.roundTrip(req)
	if rec != nil {
		rec.mu.Lock()
		defer rec.mu.Unlock()
	}
	if err != nil {
		if rec != nil {
			rec.status, rec.body, rec.err = 0, nil, err
		}
		return nil, err
	}
	if rec != nil {
		rec.status, rec.body, rec.err = resp.StatusCode, resp.recorded, resp.readErr
	}
	return resp.Response, nil
}

// admitted is a response read whole while its request held a slot.
type admitted struct {
	*http.Response
	recorded []byte
	readErr  error
}

// roundTrip waits for a slot, sends req under the per-request timeout and
// reads the answer whole before giving the slot back.
func (t *recordingTransport) roundTrip(req *http.Request) (admitted, error) {
	ctx := req.Context()
	if t.slots != nil {
		select {
		case t.slots <- struct{}{}:
			defer func() { <-t.slots }()
		case <-ctx.Done():
			return admitted{}, fmt.Errorf("waiting for a connection: %w", context.Cause(ctx))
		}
	}
	if t.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
		req = req.WithContext(ctx)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return admitted{}, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxRecordedBody))
	_ = resp.Body.Close() // fully read or over the limit; either way done
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return admitted{Response: resp, recorded: body, readErr: rerr}, nil
}

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
// nil. The network drivers pass twice their concurrency as limit: half of
// the calls are being encoded and signed while the other half are on the
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
// temporary when the deadline passed.
func runCalls(ctx context.Context, provider string, n int, pre []error, calls []call, limit int, do func(ctx context.Context, c *call) error) error {
	out := pre
	if out == nil {
		out = make([]error, n)
	}
	failed := false
	for _, e := range out {
		if e != nil {
			failed = true
			break
		}
	}
	if len(calls) == 0 {
		if failed {
			return &BatchError{Errs: out}
		}
		return nil
	}

	pending := make([]int, len(calls))
	dependents := make([][]int, len(calls))
	last := make(map[string]int, len(calls))
	stamp := make([]int, len(calls))
	for i := range stamp {
		stamp[i] = -1
	}
	for i := range calls {
		for _, ch := range calls[i].channels {
			if prev, ok := last[ch]; ok && stamp[prev] != i {
				stamp[prev] = i
				dependents[prev] = append(dependents[prev], i)
				pending[i]++
			}
			last[ch] = i
		}
	}
	ready := make(chan int, len(calls))
	for i := range calls {
		if pending[i] == 0 {
			ready <- i
		}
	}

	var mu sync.Mutex
	held := map[string]error{} // channel -> the temporary failure holding it
	done := 0
	fail := func(msgs []int, err error) {
		failed = true
		for _, m := range msgs {
			if out[m] == nil {
				out[m] = err
			}
		}
	}
	hold := func(chans []string, err error) {
		for _, ch := range chans {
			if _, ok := held[ch]; !ok {
				held[ch] = err
			}
		}
	}
	// start decides, under mu, what of call i may be sent: nil when nothing.
	start := func(i int) *call {
		c := &calls[i]
		if err := ctx.Err(); err != nil {
			fail(c.msgs, &Error{Provider: provider, Op: c.op, Temporary: errors.Is(err, context.DeadlineExceeded),
				Err: fmt.Errorf("not sent: %w", err)})
			return nil
		}
		if len(held) == 0 {
			return c
		}
		var sendable *call
		for j, part := range c.parts {
			var cause error
			for _, ch := range part {
				if cause = held[ch]; cause != nil {
					break
				}
			}
			if cause != nil {
				fail(c.msgs[j:j+1], &Error{Provider: provider, Op: c.op, Temporary: true,
					Err: fmt.Errorf("not sent: an earlier request on its channel failed: %w", cause)})
				hold(part, cause)
				if sendable == nil {
					sendable = &call{op: c.op, msgs: append([]int(nil), c.msgs[:j]...), parts: append([][]string(nil), c.parts[:j]...)}
				}
				continue
			}
			if sendable != nil {
				sendable.msgs = append(sendable.msgs, c.msgs[j])
				sendable.parts = append(sendable.parts, part)
			}
		}
		if sendable == nil {
			return c
		}
		if len(sendable.msgs) == 0 {
			return nil
		}
		for _, part := range sendable.parts {
			for _, ch := range part {
				if !contains(sendable.channels, ch) {
					sendable.channels = append(sendable.channels, ch)
				}
			}
		}
		return sendable
	}
	finish := func(i int, sent *call, err error) {
		var per *BatchError
		switch {
		case sent == nil || err == nil:
		case errors.As(err, &per) && len(per.Errs) == len(sent.msgs):
			// The provider answered per message (Ably's batch results).
			for j, e := range per.Errs {
				if e != nil {
					fail(sent.msgs[j:j+1], e)
					if IsTemporary(e) {
						hold(sent.parts[j], e)
					}
				}
			}
		default:
			fail(sent.msgs, err)
			if IsTemporary(err) {
				hold(sent.channels, err)
			}
		}
		for _, d := range dependents[i] {
			pending[d]--
			if pending[d] == 0 {
				ready <- d
			}
		}
		done++
		if done == len(calls) {
			close(ready)
		}
	}

	workers := max(1, min(limit, len(calls)))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ready {
				mu.Lock()
				c := start(i)
				mu.Unlock()
				var err error
				if c != nil {
					err = do(ctx, c)
				}
				mu.Lock()
				finish(i, c, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if !failed {
		return nil
	}
	return &BatchError{Errs: out}
}
