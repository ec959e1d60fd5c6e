package broadcast

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limiter paces the requests to one provider app so that they stay under
// the rate the provider admits, which herald is not told and which changes
// with the plan, the app's other traffic and the other instances of the
// function. It learns the rate from the answers (AIMD):
//
//   - A refusal (429, or 503 with Retry-After) cuts the rate to CutTo
//     times itself, or times what the provider accepted since the last
//     pause when that is less, once per round of requests: answers to
//     requests booked before the last cut say nothing new. The first cut
//     starts from what the provider accepted over the last Window. A
//     Retry-After also stops every request until it has passed. Without
//     one, a refusal cuts only when refusals are over RefusedShare of the
//     Window's answers: a lone 429 is for the retry layer, not a limit.
//   - An accepted answer to a request that waited for its turn raises the
//     rate by Increase requests per second, which grows it by Increase of
//     itself per second (a rate r gets r answers a second): the probe that
//     finds a limit that went up. Between the first cut and the second it
//     grows by SlowStart instead, since the first estimate may be low.
//     Until the first cut the rate is unknown and only the concurrency
//     bounds the requests.
//   - When the average latency grows to LatencyTolerance times the fastest
//     seen, and LatencyFloor over it, the rate is cut as for a refusal,
//     without a pause, and that latency becomes the reference: a provider
//     that queues is near its limit.
//
// Requests are paced 1/rate apart. A request whose turn comes too late for
// its deadline is not started: Reserve returns a *Backoff at once, so the
// messages it carries are reported for redelivery early, with the wait as
// the hint, instead of using up the invocation waiting.
//
// A Limiter is safe for concurrent use. Its state is what it learnt, kept
// for the life of the process: a warm Lambda container starts each
// invocation from the last rate, and the last pause, it learnt. Every
// method takes the current time, so that a test or a simulation can run it
// on its own clock.
type Limiter struct {
	cfg LimiterConfig

	mu sync.Mutex // guards the fields below
	// rate is the requests per second admitted; 0 until the first cut.
	rate float64
	// next is the earliest start of the next request at rate.
	next time.Time
	// pausedUntil is when the last Retry-After ends.
	pausedUntil time.Time
	// cuts counts the cuts.
	cuts int
	// answers are the recent answers, oldest first, no older than Window;
	// refusals counts the refused among them.
	answers  []answer
	refusals int
	// fastest is the lowest latency of an accepted request; latency is a
	// moving average of the recent ones.
	fastest, latency time.Duration
}

// answer is one provider answer the limiter counted.
type answer struct {
	at      time.Time
	refused bool
}

// LimiterConfig tunes a Limiter; zero fields take the defaults.
type LimiterConfig struct {
	// CutTo is the fraction of the rate a cut keeps. Default 0.8.
	CutTo float64
	// Increase is the requests per second added per accepted answer.
	// Default 0.02 (the rate grows by 2% per second).
	Increase float64
	// SlowStart is the requests per second added per accepted answer
	// between the first cut and the second: the first cut starts from what
	// was accepted while the limit was not known, which may be far below
	// it, so the rate grows SlowStart times itself per second (e-fold in
	// half a second at 2) until a refusal finds the limit again. Default 2.
	SlowStart float64
	// MinRate is the lowest rate a cut leaves. Default 1 request/s.
	MinRate float64
	// Window is how far back accepted answers are counted. Default 1 s.
	Window time.Duration
	// RefusedShare is the share of refusals in the Window above which a
	// refusal without Retry-After cuts. Default 0.25.
	RefusedShare float64
	// LatencyTolerance and LatencyFloor: an average latency above both
	// LatencyTolerance times the fastest and the fastest plus LatencyFloor
	// cuts. Defaults 4 and 100 ms.
	LatencyTolerance float64
	LatencyFloor     time.Duration
}

// Limiter defaults. With several containers sharing one limit, each
// overshoot costs the container that meets it a Retry-After of idling; a
// slow probe and a deep cut make overshoots rare. In the simulated burst
// (make bench, scale part) against a bucket holding a tenth of a second,
// 0.8 and 0.02 kept goodput at 0.93 of the limit where 0.9 and 0.05 gave
// 0.85.
const (
	DefaultLimiterCutTo     = 0.8
	DefaultLimiterIncrease  = 0.02
	DefaultLimiterSlowStart = 2
	DefaultLimiterMinRate   = 1
	DefaultLimiterWindow    = time.Second
)

func (c LimiterConfig) withDefaults() LimiterConfig {
	if c.CutTo <= 0 || c.CutTo >= 1 {
		c.CutTo = DefaultLimiterCutTo
	}
	if c.Increase <= 0 {
		c.Increase = DefaultLimiterIncrease
	}
	if c.SlowStart <= 0 {
		c.SlowStart = DefaultLimiterSlowStart
	}
	if c.MinRate <= 0 {
		c.MinRate = DefaultLimiterMinRate
	}
	if c.Window <= 0 {
		c.Window = DefaultLimiterWindow
	}
	if c.RefusedShare <= 0 {
		c.RefusedShare = 0.25
	}
	if c.LatencyTolerance <= 1 {
		c.LatencyTolerance = 4
	}
	if c.LatencyFloor <= 0 {
		c.LatencyFloor = 100 * time.Millisecond
	}
	return c
}

// NewLimiter returns a limiter that knows no rate yet.
func NewLimiter(cfg LimiterConfig) *Limiter {
	return &Limiter{cfg: cfg.withDefaults()}
}

// Backoff is the error of a request the limiter did not start because its
// turn would come after its deadline. It is temporary: the message is
// delivered again later, no sooner than Wait from now.
type Backoff struct {
	// Wait is how long until the request could have started.
	Wait time.Duration
}

func (e *Backoff) Error() string {
	return fmt.Sprintf("not sent: the provider's rate limit gives it a turn in %v, after the deadline", e.Wait.Round(time.Millisecond))
}

// Rate is the requests per second the limiter admits, 0 while it knows no
// limit.
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// Turn is a request's booked start.
type Turn struct {
	// At is when the request may start.
	At time.Time
	// cuts is how many cuts the limiter had made when it was booked.
	cuts int
	// paced is whether the request had to wait for its turn: only then does
	// its acceptance say the rate could be higher.
	paced bool
}

// Reserve books the next turn for a request that wants to start at now and
// must be answered by deadline (zero: none). The caller waits until the
// turn's At, checks Ready, and reports the answer with Done. When the turn
// plus the usual latency would pass the deadline, nothing is booked and
// the error is a *Backoff.
func (l *Limiter) Reserve(now, deadline time.Time) (Turn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := now
	if l.pausedUntil.After(at) {
		at = l.pausedUntil
	}
	if l.rate > 0 && l.next.After(at) {
		at = l.next
	}
	if !deadline.IsZero() && at.Add(l.latency).After(deadline) {
		return Turn{}, &Backoff{Wait: at.Sub(now)}
	}
	if l.rate > 0 {
		l.next = at.Add(time.Duration(float64(time.Second) / l.rate))
	}
	return Turn{At: at, cuts: l.cuts, paced: at.After(now)}, nil
}

// Ready reports whether a request whose turn has come may start at now:
// false when a Retry-After arrived meanwhile, and the request must reserve
// again.
func (l *Limiter) Ready(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !now.Before(l.pausedUntil)
}

// Done tells the limiter how the request of turn t, sent at start, was
// answered at now: its HTTP status (0 when none came) and its Retry-After
// (0 when none was given).
func (l *Limiter) Done(t Turn, start, now time.Time, status int, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	refused := status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable && retryAfter > 0
	if status == 0 || !refused && (status < 200 || status > 299) {
		return // not an answer about the rate
	}
	l.count(now, refused)
	if refused {
		if retryAfter > 0 {
			l.pausedUntil = later(l.pausedUntil, now.Add(retryAfter))
			l.next = later(l.next, l.pausedUntil)
		}
		if retryAfter > 0 || l.refusedShare() > l.cfg.RefusedShare {
			l.cut(t, now)
		}
		return
	}
	took := now.Sub(start)
	if l.fastest == 0 || took < l.fastest {
		l.fastest = took
	}
	if l.latency == 0 {
		l.latency = took
	} else {
		l.latency += (took - l.latency) / 8
	}
	if l.latency > time.Duration(l.cfg.LatencyTolerance*float64(l.fastest)) && l.latency > l.fastest+l.cfg.LatencyFloor {
		l.cut(t, now)
		// The slower latency is the new normal until it worsens as much
		// again: a provider that stays slow is cut once, not to MinRate.
		l.fastest = l.latency
		return
	}
	if l.rate > 0 && t.paced {
		// Raise only a rate that holds requests back: a sender slower than
		// it learns nothing about the limit.
		if l.cuts == 1 {
			l.rate += l.cfg.SlowStart
		} else {
			l.rate += l.cfg.Increase
		}
	}
}

// cut lowers the rate after a refusal or a slow answer to the request of
// turn t, unless a cut made since t was booked already answered its round.
func (l *Limiter) cut(t Turn, now time.Time) {
	if t.cuts < l.cuts {
		return
	}
	l.cuts++
	// The first cut starts from what the provider accepted over the window;
	// later ones from the rate, or from what was accepted since the last
	// pause ended when that is less (a pause in the window would understate
	// it).
	base := l.rate
	if base == 0 {
		base = l.accepted()
	} else if r, ok := l.acceptedSince(l.pausedUntil, now); ok && r < base {
		base = r
	}
	if base == 0 {
		return // nothing accepted yet: no rate to start from; the pause holds
	}
	l.rate = max(l.cfg.MinRate, base*l.cfg.CutTo)
	if !l.next.After(now) {
		l.next = now
	}
}

// count records an answer and forgets those older than the window.
func (l *Limiter) count(now time.Time, refused bool) {
	l.answers = append(l.answers, answer{at: now, refused: refused})
	if refused {
		l.refusals++
	}
	cutoff := now.Add(-l.cfg.Window)
	drop := 0
	for drop < len(l.answers) && !l.answers[drop].at.After(cutoff) {
		if l.answers[drop].refused {
			l.refusals--
		}
		drop++
	}
	// Slicing forward is amortised by append's reallocations.
	l.answers = l.answers[drop:]
}

// accepted is the accepted answers per second over the window.
func (l *Limiter) accepted() float64 {
	return float64(len(l.answers)-l.refusals) / l.cfg.Window.Seconds()
}

// acceptedSince is the accepted answers per second since from (or over the
// window, if shorter), when that is long enough to say: a tenth of the
// window.
func (l *Limiter) acceptedSince(from, now time.Time) (float64, bool) {
	from = later(from, now.Add(-l.cfg.Window))
	span := now.Sub(from)
	if span < l.cfg.Window/10 {
		return 0, false
	}
	n := 0
	for _, a := range l.answers {
		if !a.refused && a.at.After(from) {
			n++
		}
	}
	return float64(n) / span.Seconds(), n > 0
}

// refusedShare is the share of refusals among the window's answers.
func (l *Limiter) refusedShare() float64 {
	if len(l.answers) == 0 {
		return 0
	}
	return float64(l.refusals) / float64(len(l.answers))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// parseRetryAfter reads a Retry-After header at now: delay-seconds or an
// HTTP date. It returns 0 when the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// limiters holds one Limiter per provider app for the life of the process.
var limiters sync.Map // key -> *Limiter

// limiterFor returns the process's limiter for a provider app, made on
// first use: key names the app, as limiterKey derives it from a request.
func limiterFor(key string) *Limiter {
	if l, ok := limiters.Load(key); ok {
		return l.(*Limiter)
	}
	l, _ := limiters.LoadOrStore(key, NewLimiter(LimiterConfig{}))
	return l.(*Limiter)
}

// limiterKey names the provider app a request is for: the host and the
// app id in Pusher's path (/apps/{id}/...), or the host and the app part
// of Ably's key (the basic auth user "appId.keyId").
func limiterKey(req *http.Request) string {
	host := req.URL.Host
	if rest, ok := strings.CutPrefix(req.URL.Path, "/apps/"); ok {
		app, _, _ := strings.Cut(rest, "/")
		return host + "/apps/" + app
	}
	if user, _, ok := req.BasicAuth(); ok {
		app, _, _ := strings.Cut(user, ".")
		return host + "/" + app
	}
	return host
}
