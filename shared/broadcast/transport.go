package broadcast

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/tracing"
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
// It is also where requests meet the network: at most cap(slots) at a
// time, the concurrency, and each at its turn under its provider app's
// Limiter (limiter.go), which paces them under the rate the provider
// admits and learns that rate from the answers.
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
	// Below the slots: provider metrics and spans time the round trip alone.
	base = tracing.Transport(metrics.Transport(base))
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
	// The turn is taken with a slot in hand, so that a Retry-After that
	// arrives meanwhile stops every request not yet on the network.
	lim := limiterFor(limiterKey(req))
	turn, err := awaitTurn(ctx, lim)
	if err != nil {
		return admitted{}, err
	}
	if t.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
		req = req.WithContext(ctx)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		lim.Done(turn, start, time.Now(), 0, 0)
		return admitted{}, err
	}
	now := time.Now()
	lim.Done(turn, start, now, resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), now))
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxRecordedBody))
	_ = resp.Body.Close() // fully read or over the limit; either way done
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return admitted{Response: resp, recorded: body, readErr: rerr}, nil
}

// awaitTurn waits for the request's turn under the provider app's limiter.
// It returns the limiter's *Backoff at once when the turn would come after
// ctx's deadline, and ctx's cause when ctx ends first.
func awaitTurn(ctx context.Context, lim *Limiter) (Turn, error) {
	deadline, _ := ctx.Deadline()
	for {
		now := time.Now()
		turn, err := lim.Reserve(now, deadline)
		if err != nil {
			return Turn{}, err
		}
		if d := turn.At.Sub(now); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				return Turn{}, fmt.Errorf("waiting for the provider's rate limit: %w", context.Cause(ctx))
			case <-timer.C:
			}
		}
		if lim.Ready(time.Now()) {
			return turn, nil
		}
	}
}
