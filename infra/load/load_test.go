package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldrt/herald/infra/local/stack"
	"github.com/heraldrt/herald/infra/server"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/signature"
)

// long reports whether HERALD_LOAD=1 asks for the long runs (make load).
func long() bool { return os.Getenv("HERALD_LOAD") == "1" }

func size(short, full int) int {
	if long() {
		return full
	}
	return short
}

func TestPercentile(t *testing.T) {
	r := Result{}
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.9, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := r.Percentile(c.q); got != c.want {
			t.Errorf("Percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if (Result{}).Percentile(0.5) != 0 {
		t.Error("an empty result has a percentile")
	}
}

func TestRunCountsErrors(t *testing.T) {
	var calls atomic.Int64
	res, err := Run(context.Background(), Config{Requests: 50, Concurrency: 4}, func(_ context.Context, i int) error {
		calls.Add(1)
		if i%10 == 3 {
			return errors.New("refused")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 50 || res.Errors != 5 || len(res.Latencies) != 45 || res.Err() == nil {
		t.Fatalf("calls %d, errors %d, latencies %d, err %v", calls.Load(), res.Errors, len(res.Latencies), res.Err())
	}
	if _, err := Run(context.Background(), Config{Requests: 1}, nil); err == nil {
		t.Error("a run without concurrency was accepted")
	}
}

// startStack runs the local stack on free loopback ports with its
// defaults, stopped when the test ends.
func startStack(t *testing.T) *stack.Stack {
	t.Helper()
	st, err := stack.New(stack.Config{
		HTTPAddr: "127.0.0.1:0", ServerAddr: "127.0.0.1:0", AWS: testkit.Moto(t),
		Lookup:      func(string) (string, bool) { return "", false },
		NodeModules: filepath.Join(testkit.RepoRoot(t), "infra", "node", "node_modules"),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stack shutdown: %v", err)
			}
		case <-time.After(stack.ShutdownTimeout + 5*time.Second):
			t.Errorf("the stack did not stop")
		}
	})
	testkit.WaitForTCP(t, strings.TrimPrefix(st.URLs().HTTP, "http://"), 10*time.Second)
	return st
}

// client keeps enough idle connections for the concurrency used, so the
// run measures requests, not TCP handshakes.
func client(concurrency int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func expect(res *http.Response, err error, status int, contains string) error {
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status || !strings.Contains(string(b), contains) {
		return fmt.Errorf("answered %d %.200s, want %d with %q", res.StatusCode, b, status, contains)
	}
	return nil
}

// TestAuthEndpoint loads POST /broadcasting/auth with a signed-in user's
// private channel: every request must be authorized.
func TestAuthEndpoint(t *testing.T) {
	st := startStack(t)
	base := st.URLs().HTTP
	res, err := http.Get(base + "/dev/token?sub=42&name=Alice")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if tok.Token == "" {
		t.Fatal("/dev/token gave no token")
	}
	cfg := Config{Requests: size(400, 20000), Concurrency: size(8, 32)}
	hc := client(cfg.Concurrency)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r, err := Run(ctx, cfg, func(ctx context.Context, i int) error {
		form := url.Values{"socket_id": {fmt.Sprintf("%d.%d", 1000+i, i)}, "channel_name": {"private-App.Models.User.42"}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/broadcasting/auth", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		res, err := hc.Do(req)
		return expect(res, err, http.StatusOK, `"auth":"`)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("auth: %v", r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestPublishEndpoint loads POST /apps/{id}/events with requests signed as
// a Pusher server SDK signs them: every event must be accepted.
func TestPublishEndpoint(t *testing.T) {
	st := startStack(t)
	base := st.URLs().HTTP
	id, key, secret := st.Env("PUBLISH_APP_ID"), st.Env("PUBLISH_APP_KEY"), st.Env("PUBLISH_APP_SECRET")
	path := "/apps/" + id + "/events"
	cfg := Config{Requests: size(200, 10000), Concurrency: size(8, 16)}
	hc := client(cfg.Concurrency)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r, err := Run(ctx, cfg, func(ctx context.Context, i int) error {
		body := fmt.Appendf(nil, `{"name":"LoadTest","channels":["load-%d"],"data":"{\"n\":%d}"}`, i%16, i)
		q := signature.SignRequest(http.MethodPost, path, nil, body, key, secret, time.Now())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path+"?"+q.Encode(), strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		return expect(res, err, http.StatusOK, "{}")
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("publish: %v", r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestConnectionChurn has clients connect to the local server, subscribe,
// receive an event and leave, over and over, for a bounded number of
// connections (short) or time (long). Afterwards the server must hold no
// connection, and goroutines and heap must be back to where they were.
func TestConnectionChurn(t *testing.T) {
	const id, key, secret = "churn", "churn-key", "churn-secret"
	srv, err := server.New(server.Config{Apps: []server.App{{ID: id, Key: key, Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, l) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	})
	url := "ws://" + l.Addr().String() + "/app/" + key + "?protocol=7"

	// One connection first, so lazily started parts of the runtime and the
	// server are counted in the baseline rather than as a leak.
	if err := churnOnce(context.Background(), srv, id, url, "warm-up"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, srv)
	baseG, baseHeap := settle()

	// Short: a fixed number of connections. Long: as many as 32 clients
	// make in 30 seconds.
	workers, limit, span := 8, int64(300), 5*time.Minute
	if long() {
		workers, limit, span = 32, 1<<40, 30*time.Second
	}
	until := time.Now().Add(span)
	var made, failed atomic.Int64
	var first atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for made.Add(1) <= limit && time.Now().Before(until) {
				if err := churnOnce(context.Background(), srv, id, url, fmt.Sprintf("churn-%d", w)); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
			made.Add(-1)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d connections failed; first: %v", n, min(made.Load(), limit), first.Load())
	}
	waitIdle(t, srv)
	var g int
	var heap uint64
	// Goroutines of closed connections end shortly after the close; wait
	// for them rather than sample once.
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, heap = settle()
		if g <= baseG+2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	n := min(made.Load(), limit)
	t.Logf("churn: %d connections (connect, subscribe, receive, leave) by %d clients in %v, %.0f/s; goroutines %d -> %d, heap in use %.1f MB -> %.1f MB",
		n, workers, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), baseG, g, float64(baseHeap)/1e6, float64(heap)/1e6)
	if g > baseG+2 {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d after churn, %d before\n%s", g, baseG, buf[:runtime.Stack(buf, true)])
	}
	// The heap may keep some growth (pools, maps that never shrink), but
	// not a share per connection: 4 MB slack covers the first and not the
	// second (hundreds of connections of tens of KB each).
	if heap > baseHeap+4<<20 {
		t.Fatalf("heap in use %d bytes after churn, %d before", heap, baseHeap)
	}
}

// churnOnce connects, subscribes to a public channel, waits for the
// subscription, receives one event triggered on it, and leaves.
func churnOnce(ctx context.Context, srv *server.Server, app, url, ch string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	read := func(event string) error {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return fmt.Errorf("awaiting %s: %w", event, err)
			}
			var f struct{ Event, Channel string }
			json.Unmarshal(b, &f)
			if f.Event == event && (f.Channel == "" || f.Channel == ch) {
				return nil
			}
		}
	}
	if err := read("pusher:connection_established"); err != nil {
		return err
	}
	sub, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": ch}})
	if err := ws.Write(ctx, websocket.MessageText, sub); err != nil {
		return err
	}
	if err := read("pusher_internal:subscription_succeeded"); err != nil {
		return err
	}
	if err := srv.Trigger(app, []string{ch}, "Ping", "{}", ""); err != nil {
		return err
	}
	if err := read("Ping"); err != nil {
		return err
	}
	return ws.Close(websocket.StatusNormalClosure, "")
}

// waitIdle waits until the server has no connection left.
func waitIdle(t *testing.T, srv *server.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for srv.Connections() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open", srv.Connections())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settle collects garbage and returns the goroutine count and heap in use.
func settle() (int, uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), m.HeapInuse
}
