package retry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/signature"
)

// Pusher's published example credentials.
const (
	appID  = "3"
	key    = "278d425bdf160c739803"
	secret = "7ad3773142a6692b25b8"
)

// standIn speaks Pusher's HTTP API (signed POST /apps/{id}/events and
// /apps/{id}/batch_events) and answers each request as answer decides,
// counting every event it receives and every event it accepts.
type standIn struct {
	mu       sync.Mutex
	requests int
	received map[string]int // event name -> times sent to the stand-in
	accepted map[string]int // event name -> times answered 200
	batches  [][]string     // event names of each request, in arrival order
	// answer returns the status for request n (1-based) carrying events,
	// 0 to drop the connection without answering, or stall to answer
	// nothing until the client gives up.
	answer func(n int, events []string, received map[string]int) int
}

func newStandIn(t *testing.T, answer func(n int, events []string, received map[string]int) int) (*standIn, broadcast.Driver) {
	t.Helper()
	s := &standIn{received: map[string]int{}, accepted: map[string]int{}, answer: answer}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: u.Hostname(), Port: port, Scheme: "http",
		HTTPClient: &http.Client{Timeout: requestTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	err = signature.VerifyRequest(r.Method, r.URL.Path, r.URL.Query(), body, func(k string) (string, bool) { return secret, k == key }, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var names []string
	switch r.URL.Path {
	case "/apps/" + appID + "/events":
		var ev struct{ Name string }
		err = json.Unmarshal(body, &ev)
		names = []string{ev.Name}
	case "/apps/" + appID + "/batch_events":
		var b struct{ Batch []struct{ Name string } }
		err = json.Unmarshal(body, &b)
		for _, ev := range b.Batch {
			names = append(names, ev.Name)
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	s.requests++
	for _, n := range names {
		s.received[n]++
	}
	s.batches = append(s.batches, names)
	status := s.answer(s.requests, names, s.received)
	if status == http.StatusOK {
		for _, n := range names {
			s.accepted[n]++
		}
	}
	s.mu.Unlock()

	switch status {
	case stall:
		<-r.Context().Done()
	case 0:
		// A reset: the connection closes with no response.
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case http.StatusOK:
		io.WriteString(w, "{}")
	default:
		http.Error(w, "stand-in failure", status)
	}
}

func (s *standIn) counts() (requests int, received, accepted map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, clone(s.received), clone(s.accepted)
}

func clone(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// stall is an answer: hold the request until the client's timeout ends it.
const stall = -1

// requestTimeout bounds each stand-in request, so a stall is a timeout;
// generous, so that a loaded machine never times out an answered request.
const requestTimeout = 1500 * time.Millisecond

// quick retries without waiting long; tests count calls, not time.
var quick = Policy{Base: time.Millisecond, Cap: 4 * time.Millisecond, MaxAttempts: 10, SafetyMargin: time.Second}

func msg(name string, channels ...string) broadcast.Message {
	return broadcast.Message{Name: name, Channels: channels, Data: `{"n":1}`}
}

func TestRetriesUntilSuccess(t *testing.T) {
	cases := []struct {
		name     string
		failures []int // statuses of the first requests; 0 drops the connection
	}{
		{"429s", []int{429, 429, 429}},
		{"5xx", []int{500, 502, 503, 504}},
		{"refusals of herald's account", []int{401, 403}},
		{"dropped connections", []int{0, 0}},
		{"timeouts", []int{stall, stall}},
		{"mixed", []int{503, 0, stall, 429}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, p := newStandIn(t, func(n int, _ []string, _ map[string]int) int {
				if n <= len(c.failures) {
					return c.failures[n-1]
				}
				return http.StatusOK
			})
			err := New(p, quick).Broadcast(context.Background(), []broadcast.Message{msg("EmailSent", "private-App.Models.User.1")})
			if err != nil {
				t.Fatalf("Broadcast: %v", err)
			}
			requests, received, accepted := s.counts()
			if want := len(c.failures) + 1; requests != want || received["EmailSent"] != want {
				t.Fatalf("requests = %d, received = %d, want %d of each", requests, received["EmailSent"], want)
			}
			if accepted["EmailSent"] != 1 {
				t.Fatalf("accepted %d times, want once", accepted["EmailSent"])
			}
		})
	}
}

// TestOnlyFailedMessagesResent: messages on two channels each become one
// trigger call each; the flaky ones fail twice, and only they are re-sent.
func TestOnlyFailedMessagesResent(t *testing.T) {
	s, p := newStandIn(t, func(_ int, events []string, received map[string]int) int {
		if strings.HasPrefix(events[0], "flaky") && received[events[0]] <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	var msgs []broadcast.Message
	for i := range 20 {
		name := fmt.Sprintf("ok-%d", i)
		if i%4 == 0 {
			name = fmt.Sprintf("flaky-%d", i)
		}
		msgs = append(msgs, msg(name, fmt.Sprintf("a-%d", i), fmt.Sprintf("b-%d", i)))
	}
	if err := New(p, quick).Broadcast(context.Background(), msgs); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	_, received, accepted := s.counts()
	for _, m := range msgs {
		want := 1
		if strings.HasPrefix(m.Name, "flaky") {
			want = 3
		}
		if received[m.Name] != want || accepted[m.Name] != 1 {
			t.Errorf("%s: received %d, accepted %d; want received %d, accepted 1", m.Name, received[m.Name], accepted[m.Name], want)
		}
	}
}

// TestOnlyFailedBatchResent: thirty single-channel messages become three
// batch_events calls; the first to arrive fails, and exactly its events are
// sent again.
func TestOnlyFailedBatchResent(t *testing.T) {
	s, p := newStandIn(t, func(n int, _ []string, _ map[string]int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	var msgs []broadcast.Message
	for i := range 30 {
		msgs = append(msgs, msg(fmt.Sprintf("e-%d", i), fmt.Sprintf("c-%d", i)))
	}
	if err := New(p, quick).Broadcast(context.Background(), msgs); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	s.mu.Lock()
	failed := map[string]bool{}
	for _, n := range s.batches[0] {
		failed[n] = true
	}
	s.mu.Unlock()
	if len(failed) == 0 {
		t.Fatal("first request carried no events")
	}
	requests, received, accepted := s.counts()
	total := 0
	for _, m := range msgs {
		want := 1
		if failed[m.Name] {
			want = 2
		}
		if received[m.Name] != want || accepted[m.Name] != 1 {
			t.Errorf("%s: received %d, accepted %d; want received %d, accepted 1", m.Name, received[m.Name], accepted[m.Name], want)
		}
		total += received[m.Name]
	}
	if total != len(msgs)+len(failed) {
		t.Errorf("events received %d, want %d", total, len(msgs)+len(failed))
	}
	t.Logf("%d requests; %d events re-sent", requests, len(failed))
}

func TestPermanentFailureNotRetried(t *testing.T) {
	s, p := newStandIn(t, func(_ int, events []string, received map[string]int) int {
		switch events[0] {
		case "TooLarge":
			return http.StatusRequestEntityTooLarge
		case "Flaky":
			if received["Flaky"] == 1 {
				return http.StatusTooManyRequests
			}
		}
		return http.StatusOK
	})
	msgs := []broadcast.Message{
		msg("TooLarge", "x-1", "x-2"),
		msg("Flaky", "y-1", "y-2"),
		msg("Fine", "z-1", "z-2"),
	}
	err := New(p, quick).Broadcast(context.Background(), msgs)
	var be *broadcast.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 3 {
		t.Fatalf("err = %v, want a BatchError over 3 messages", err)
	}
	var pe *broadcast.Error
	if !errors.As(be.Errs[0], &pe) || pe.StatusCode != http.StatusRequestEntityTooLarge || broadcast.IsTemporary(be.Errs[0]) {
		t.Fatalf("TooLarge: %v, want a permanent 413", be.Errs[0])
	}
	if be.Errs[1] != nil || be.Errs[2] != nil {
		t.Fatalf("Flaky, Fine: %v, %v; want both sent", be.Errs[1], be.Errs[2])
	}
	_, received, _ := s.counts()
	if received["TooLarge"] != 1 || received["Flaky"] != 2 || received["Fine"] != 1 {
		t.Fatalf("received %v, want TooLarge 1, Flaky 2, Fine 1", received)
	}
}

func TestMaxAttempts(t *testing.T) {
	for _, status := range []int{http.StatusBadGateway, http.StatusUnauthorized} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			s, p := newStandIn(t, func(int, []string, map[string]int) int { return status })
			pol := quick
			pol.MaxAttempts = 3
			err := New(p, pol).Broadcast(context.Background(), []broadcast.Message{msg("A", "c-a"), msg("B", "c-b")})
			var be *broadcast.BatchError
			if !errors.As(err, &be) || len(be.Errs) != 2 {
				t.Fatalf("err = %v, want a BatchError over 2 messages", err)
			}
			for i, e := range be.Errs {
				var pe *broadcast.Error
				if !errors.As(e, &pe) || pe.StatusCode != status || !broadcast.IsTemporary(e) {
					t.Fatalf("message %d: %v, want the temporary %d", i, e, status)
				}
			}
			_, received, _ := s.counts()
			if received["A"] != 3 || received["B"] != 3 {
				t.Fatalf("received %v, want 3 attempts each", received)
			}
		})
	}
}

// TestCancelledNotResent: once the invocation's context is cancelled, the
// message in flight comes back temporary with the cancellation as its
// cause, and nothing is sent again.
func TestCancelledNotResent(t *testing.T) {
	arrived := make(chan struct{}, 1)
	s, p := newStandIn(t, func(int, []string, map[string]int) int {
		arrived <- struct{}{}
		return stall
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel()
	}()
	err := New(p, quick).Broadcast(ctx, []broadcast.Message{msg("A", "c-a")})
	f := broadcast.Failures(err, 1)[0]
	if !broadcast.IsTemporary(f) || !errors.Is(f, context.Canceled) || errors.Is(f, ErrNoTime) {
		t.Fatalf("error = %v, want a temporary cancellation", f)
	}
	if requests, _, _ := s.counts(); requests != 1 {
		t.Fatalf("%d requests, want the one that was cancelled", requests)
	}
}

// TestStopsBeforeDeadline: against a provider that always fails, Broadcast
// gives up with the messages' temporary failures while the invocation
// still has its safety margin left.
func TestStopsBeforeDeadline(t *testing.T) {
	s, p := newStandIn(t, func(int, []string, map[string]int) int { return http.StatusServiceUnavailable })
	pol := Policy{Base: time.Millisecond, Cap: 10 * time.Millisecond, MaxAttempts: 1 << 30, SafetyMargin: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := New(p, pol).Broadcast(ctx, []broadcast.Message{msg("A", "c-a")})
	if ctx.Err() != nil {
		t.Fatalf("Broadcast returned after the invocation's deadline: %v", ctx.Err())
	}
	var be *broadcast.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 1 {
		t.Fatalf("err = %v, want a BatchError", err)
	}
	if !broadcast.IsTemporary(be.Errs[0]) || !errors.Is(be.Errs[0], ErrNoTime) {
		t.Fatalf("error = %v, want a temporary failure that ran out of time", be.Errs[0])
	}
	if requests, _, _ := s.counts(); requests < 2 {
		t.Fatalf("%d requests, want retries before giving up", requests)
	}
}

func TestNoTimeLeft(t *testing.T) {
	s, p := newStandIn(t, func(int, []string, map[string]int) int { return http.StatusOK })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := New(p, Policy{SafetyMargin: time.Minute}).Broadcast(ctx, []broadcast.Message{msg("A", "c-a"), msg("B", "c-b")})
	for i, e := range broadcast.Failures(err, 2) {
		if !broadcast.IsTemporary(e) || !errors.Is(e, ErrNoTime) {
			t.Fatalf("message %d: %v, want a temporary no-time failure", i, e)
		}
	}
	if requests, _, _ := s.counts(); requests != 0 {
		t.Fatalf("%d requests sent inside the safety margin", requests)
	}
}

func TestPassThrough(t *testing.T) {
	s, p := newStandIn(t, func(int, []string, map[string]int) int { return http.StatusOK })
	d := New(p, Policy{})
	if d.Name() != p.Name() || d.Limits() != p.Limits() {
		t.Fatalf("Name/Limits = %q/%+v, want the wrapped driver's %q/%+v", d.Name(), d.Limits(), p.Name(), p.Limits())
	}
	if err := d.Broadcast(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if requests, _, _ := s.counts(); requests != 0 {
		t.Fatalf("%d requests for no messages", requests)
	}
}

func TestPolicy(t *testing.T) {
	bad := []Policy{
		{Base: -1},
		{Cap: -1},
		{MaxAttempts: -1},
		{SafetyMargin: -1},
		{Base: time.Second, Cap: time.Millisecond},
		{Base: 10 * time.Second}, // above the default cap
	}
	for _, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", p)
		}
	}
	if err := (Policy{}).Validate(); err != nil {
		t.Errorf("zero policy: %v", err)
	}
	p := Policy{Base: 100 * time.Millisecond, Cap: time.Second}.withDefaults()
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for n, w := range want {
		if got := p.ceiling(n + 1); got != w*time.Millisecond {
			t.Errorf("ceiling(%d) = %v, want %v", n+1, got, w*time.Millisecond)
		}
	}
	if d := (Policy{}).withDefaults(); d.Base != DefaultBase || d.Cap != DefaultCap || d.MaxAttempts != DefaultMaxAttempts || d.SafetyMargin != DefaultSafetyMargin {
		t.Errorf("defaults = %+v", d)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted an invalid policy")
		}
	}()
	New(broadcast.Null{}, Policy{Base: -1})
}
