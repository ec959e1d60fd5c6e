package retry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/heraldrt/herald/shared/broadcast"
)

// calls counts the Broadcast calls reaching the driver it wraps.
type calls struct {
	broadcast.Driver
	n int
}

func (c *calls) Broadcast(ctx context.Context, msgs []broadcast.Message) error {
	c.n++
	return c.Driver.Broadcast(ctx, msgs)
}

// TestHeldBackNotRetried: a message the rate limiter holds back for lack of
// time goes back to the trigger at once, with its hint, instead of being
// offered to the limiter again after every backoff.
func TestHeldBackNotRetried(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "Too many requests", http.StatusTooManyRequests)
	}))
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	port, _ := strconv.Atoi(u.Port())
	p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: u.Hostname(), Port: port, Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	c := &calls{Driver: p}
	d := New(c, Policy{Base: time.Millisecond, MaxAttempts: 6})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = d.Broadcast(ctx, []broadcast.Message{msg("E", "a")})
	// The first call is refused with a 30 s pause, the retry is held back:
	// two calls, not six.
	if c.n != 2 {
		t.Fatalf("%d calls to the driver, want 2", c.n)
	}
	fails := broadcast.Failures(err, 1)
	if wait, ok := broadcast.RetryAfter(fails[0]); !ok || wait < 25*time.Second || !broadcast.IsTemporary(fails[0]) {
		t.Fatalf("failure %v: want a temporary Backoff with the rest of the 30 s pause", fails[0])
	}
}
