package broadcast

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is the deterministic clock's start; every limiter test reads time
// only from the values it passes.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// book reserves a turn at now with no deadline and fails the test on error.
func book(t *testing.T, l *Limiter, now time.Time) Turn {
	t.Helper()
	turn, err := l.Reserve(now, time.Time{})
	if err != nil {
		t.Fatalf("Reserve at %v: %v", now.Sub(t0), err)
	}
	return turn
}

// accept answers n requests 20 ms after now, each booked at now.
func accept(t *testing.T, l *Limiter, now time.Time, n int) {
	t.Helper()
	for range n {
		turn := book(t, l, now)
		l.Done(turn, turn.At, turn.At.Add(20*time.Millisecond), http.StatusOK, 0)
	}
}

func TestLimiterUnknownRateDoesNotPace(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	for i := range 100 {
		if turn := book(t, l, at(0)); !turn.At.Equal(at(0)) {
			t.Fatalf("request %d booked at %v, want at once while no limit is known", i, turn.At.Sub(t0))
		}
	}
	if l.Rate() != 0 {
		t.Fatalf("rate %v before any refusal, want 0 (unknown)", l.Rate())
	}
}

func TestLimiterRefusalWithRetryAfterPausesAndCuts(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	accept(t, l, at(0), 40) // 40 accepted within the window
	refused := book(t, l, at(100))
	l.Done(refused, at(100), at(101), http.StatusTooManyRequests, 2*time.Second)

	if got, want := l.Rate(), 40*DefaultLimiterCutTo; got != want {
		t.Fatalf("rate after the first refusal %v, want %v (Backoff x accepted over the window)", got, want)
	}
	if l.Ready(at(2000)) || !l.Ready(at(2101)) {
		t.Fatal("Ready must be false until Retry-After has passed, true after")
	}
	if turn := book(t, l, at(200)); !turn.At.Equal(at(2101)) {
		t.Fatalf("next turn at %v, want when Retry-After ends (2.101 s)", turn.At.Sub(t0))
	}
}

func TestLimiterPacesAtItsRate(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	accept(t, l, at(0), 50)
	l.Done(book(t, l, at(10)), at(10), at(11), http.StatusTooManyRequests, time.Second)
	first := book(t, l, at(0))
	second := book(t, l, at(0))
	third := book(t, l, at(0))
	rate := 50 * DefaultLimiterCutTo
	gap := time.Duration(float64(time.Second) / rate)
	if !first.At.Equal(at(1011)) || second.At.Sub(first.At) != gap || third.At.Sub(second.At) != gap {
		t.Fatalf("turns %v %v %v, want from 1.011 s, %v apart", first.At.Sub(t0), second.At.Sub(t0), third.At.Sub(t0), gap)
	}
}

func TestLimiterRefusesATurnPastTheDeadlineAtOnce(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	accept(t, l, at(0), 10)
	l.Done(book(t, l, at(10)), at(10), at(11), http.StatusTooManyRequests, 3*time.Second)

	_, err := l.Reserve(at(20), at(1000))
	var b *Backoff
	if !errors.As(err, &b) || b.Wait != 2991*time.Millisecond {
		t.Fatalf("Reserve before a 3 s pause with a 1 s deadline: %v, want a *Backoff of 2.991s", err)
	}
	if !IsTemporary(err) || !IsBackoff(err) {
		t.Fatal("a Backoff must be temporary and recognised as one")
	}
	if d, ok := RetryAfter(&Error{Provider: "pusher", Err: err}); !ok || d != b.Wait {
		t.Fatalf("RetryAfter through an *Error: %v %v", d, ok)
	}
	// Nothing was booked: a request with time enough gets the first turn.
	if turn := book(t, l, at(20)); !turn.At.Equal(at(3011)) {
		t.Fatalf("turn after a refused reservation at %v, want 3.011 s", turn.At.Sub(t0))
	}
}

func TestLimiterCutsOncePerRound(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	accept(t, l, at(0), 100)
	// Sixteen requests in flight together are all refused: one cut.
	var inFlight []Turn
	for range 16 {
		inFlight = append(inFlight, book(t, l, at(50)))
	}
	for _, turn := range inFlight {
		l.Done(turn, at(50), at(51), http.StatusTooManyRequests, time.Second)
	}
	if got := l.Rate(); got != 100*DefaultLimiterCutTo {
		t.Fatalf("rate after one round of refusals %v, want %v", got, 100*DefaultLimiterCutTo)
	}
	// A refusal of a request booked after the cut cuts again.
	turn := book(t, l, at(60))
	l.Done(turn, turn.At, turn.At.Add(time.Millisecond), http.StatusTooManyRequests, time.Second)
	if got := l.Rate(); got != 100*DefaultLimiterCutTo*DefaultLimiterCutTo {
		t.Fatalf("rate after the next round %v, want %v", got, 100*DefaultLimiterCutTo*DefaultLimiterCutTo)
	}
}

func TestLimiterGrowsWhileAccepted(t *testing.T) {
	cfg := LimiterConfig{SlowStart: 1, Increase: 0.05}
	l := NewLimiter(cfg)
	accept(t, l, at(0), 20)
	l.Done(book(t, l, at(10)), at(10), at(11), http.StatusTooManyRequests, time.Second)
	accept(t, l, at(500), 10) // during the pause: every one waits its turn
	if got, want := l.Rate(), 20*DefaultLimiterCutTo+10*cfg.SlowStart; got != want {
		t.Fatalf("rate after 10 accepted answers in slow start %v, want %v", got, want)
	}
	turn := book(t, l, at(3000))
	l.Done(turn, turn.At, turn.At.Add(time.Millisecond), http.StatusTooManyRequests, time.Second)
	cut := l.Rate()
	accept(t, l, at(3500), 20)
	if got, want := l.Rate(), cut+20*cfg.Increase; got < want-1e-9 || got > want+1e-9 {
		t.Fatalf("rate after 20 accepted answers past the second cut %v, want %v", got, want)
	}
}

func TestLimiterLoneRefusalWithoutRetryAfterDoesNotCut(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	accept(t, l, at(0), 50)
	l.Done(book(t, l, at(10)), at(10), at(11), http.StatusTooManyRequests, time.Second)
	accept(t, l, at(1400), 50)
	before := l.Rate()
	turn := book(t, l, at(1500))
	l.Done(turn, turn.At, turn.At.Add(time.Millisecond), http.StatusTooManyRequests, 0)
	if l.Rate() != before {
		t.Fatalf("one 429 without Retry-After among accepted answers cut the rate %v -> %v", before, l.Rate())
	}
	if !l.Ready(turn.At.Add(time.Millisecond)) {
		t.Fatal("a 429 without Retry-After must not pause")
	}
	// Most answers refused: the limit is real.
	for range 40 {
		turn := book(t, l, at(1600))
		l.Done(turn, turn.At, turn.At.Add(time.Millisecond), http.StatusTooManyRequests, 0)
	}
	if l.Rate() >= before {
		t.Fatalf("refusals above the share left the rate at %v", l.Rate())
	}
}

func TestLimiterCutsOnceWhenLatencyGrows(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	accept(t, l, at(0), 30)
	l.Done(book(t, l, at(10)), at(10), at(11), http.StatusTooManyRequests, time.Second) // the reference is 20 ms
	rate := l.Rate()
	cuts := 0
	for range 200 {
		turn := book(t, l, at(2000))
		l.Done(turn, turn.At, turn.At.Add(400*time.Millisecond), http.StatusOK, 0)
		if l.Rate() < rate {
			cuts++
		}
		rate = l.Rate()
	}
	if cuts != 1 {
		t.Fatalf("answers 20x slower than the fastest cut the rate %d times, want once", cuts)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"1", time.Second}, {" 120 ", 2 * time.Minute}, {"-3", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(c.in, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestTransportHoldsBackWhatRetryAfterWouldDelayPastTheDeadline runs the
// pusher driver against a provider that refuses its first request with
// Retry-After: 5: the messages that remain fail at once with a Backoff
// hint, and no request is sent during the pause.
func TestTransportHoldsBackWhatRetryAfterWouldDelayPastTheDeadline(t *testing.T) {
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "Too many requests", http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("{}"))
	}))
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	port, _ := strconv.Atoi(u.Port())
	d, err := NewPusher(PusherConfig{AppID: "1", Key: "k", Secret: "s", Host: u.Hostname(), Port: port, Scheme: "http", Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]Message, 30) // three batch_events calls on unrelated channels
	for i := range msgs {
		msgs[i] = Message{Name: "E", Channels: []string{"c" + strconv.Itoa(i)}, Data: "{}"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	fails := Failures(d.Broadcast(ctx, msgs), len(msgs))
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests reached the provider, want 1: none may go during Retry-After", n)
	}
	backoffs := 0
	for _, err := range fails {
		if err == nil || !IsTemporary(err) {
			t.Fatalf("every message must fail temporarily, got %v", err)
		}
		if wait, ok := RetryAfter(err); ok {
			backoffs++
			if wait <= 3*time.Second || wait > 5*time.Second {
				t.Fatalf("hint %v, want the rest of the 5 s pause", wait)
			}
		}
	}
	if backoffs != 20 {
		t.Fatalf("%d messages carry a Backoff hint, want the 20 never sent", backoffs)
	}
	if ctx.Err() != nil {
		t.Fatal("Broadcast used up its deadline instead of failing early")
	}
}
