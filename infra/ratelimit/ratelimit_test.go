package ratelimit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/ratelimit"
	"github.com/heraldrt/herald/infra/server"
	"github.com/heraldrt/herald/shared/broadcast"
)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// standIn starts infra/server behind the limits on loopback and returns
// the handler and a pusher driver pointed at it.
func standIn(t *testing.T, l ratelimit.Limits) (*ratelimit.Handler, *broadcast.Pusher) {
	t.Helper()
	srv, err := server.New(server.Config{Apps: []server.App{{ID: "7", Key: "key", Secret: "secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	h := ratelimit.Wrap(srv.Handler(), l)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	port, _ := strconv.Atoi(u.Port())
	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: "7", Key: "key", Secret: "secret",
		Host: u.Hostname(), Port: port, Scheme: "http", Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	return h, d
}

func status(err error) int {
	var e *broadcast.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func TestAppBucketRefusesBeyondTheBurstWithRetryAfter(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	h, d := standIn(t, ratelimit.Limits{AppRate: 2, AppBurst: 3, Now: c.Now})
	ctx := context.Background()
	send := func(ch string) error {
		return d.Broadcast(ctx, []broadcast.Message{{Name: "E", Channels: []string{ch}, Data: "{}"}})
	}
	for i := range 3 {
		if err := send("c" + strconv.Itoa(i)); err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
	}
	err := send("c3")
	if status(err) != http.StatusTooManyRequests || !broadcast.IsTemporary(err) {
		t.Fatalf("fourth request: got %v, want a temporary 429", err)
	}
	c.Add(500 * time.Millisecond) // one token at 2/s
	if err := send("c3"); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
	st := h.Stats()
	if st.Requests != 5 || st.Refused != 1 || st.Events != 4 || h.Duplicates() != 0 {
		t.Fatalf("stats %+v, duplicates %d", st, h.Duplicates())
	}
	if h.Delivered("7", "c3", "E", "{}") != 1 {
		t.Fatal("c3 not counted once")
	}
}

func TestRetryAfterHeaderIsTheWaitRoundedUp(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	srv, err := server.New(server.Config{Apps: []server.App{{ID: "7", Key: "key", Secret: "secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	h := ratelimit.Wrap(srv.Handler(), ratelimit.Limits{AppRate: 0.25, AppBurst: 1, Now: c.Now})
	post := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/apps/7/events", strings.NewReader(`{"name":"E","channels":["a"],"data":"{}"}`))
		h.ServeHTTP(w, r)
		return w
	}
	// The first is admitted by the limiter (the server then refuses the
	// unsigned request); the second must wait 4 s for a token.
	if w := post(); w.Code == http.StatusTooManyRequests {
		t.Fatal("first request refused")
	}
	w := post()
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "4" {
		t.Fatalf("got %d Retry-After %q, want 429 with 4", w.Code, w.Header().Get("Retry-After"))
	}
	if st := h.Stats(); st.Failed != 1 || st.Events != 0 {
		t.Fatalf("stats %+v: the unsigned request must count as failed, not delivered", st)
	}
}

func TestChannelBucketLimitsEventsPerChannel(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	_, d := standIn(t, ratelimit.Limits{ChannelRate: 5, ChannelBurst: 5, Now: c.Now})
	ctx := context.Background()
	var msgs []broadcast.Message
	for i := range 6 {
		msgs = append(msgs, broadcast.Message{Name: "E", Channels: []string{"busy"}, Data: strconv.Itoa(i)})
	}
	// Six events on one channel: the first call of them carries all six
	// (batch_events holds ten) and exceeds the channel's five.
	if err := d.Broadcast(ctx, msgs); status(broadcast.Failures(err, 6)[0]) != http.StatusTooManyRequests {
		t.Fatalf("six events on a channel of five: %v", err)
	}
	if err := d.Broadcast(ctx, msgs[:5]); err != nil {
		t.Fatalf("five events: %v", err)
	}
	// Another channel has its own bucket.
	if err := d.Broadcast(ctx, []broadcast.Message{{Name: "E", Channels: []string{"quiet"}, Data: "x"}}); err != nil {
		t.Fatalf("another channel: %v", err)
	}
}
