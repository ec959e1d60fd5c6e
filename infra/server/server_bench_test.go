package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestLoadFanout connects many WebSocket clients (Go, coder/websocket, on
// loopback) to one channel, broadcasts 100 events and checks that every
// client receives every event in order, that the server spends at most two
// goroutines per connection, and that the goroutine count returns to its
// baseline once the clients leave. It prints fan-out latency and memory per
// connection; those are figures to read, not assertions, because the
// machines running the tests are shared.
//
// go test runs it with 200 connections. HERALD_LOAD=1 runs the full size,
// 5,000 connections (HERALD_LOAD=n for n connections). Each connection
// needs two file descriptors in this process (server end and client end):
// the test raises the soft RLIMIT_NOFILE up to the hard limit and skips if
// that is still too low (5,000 connections need about 10,100; `ulimit -n`
// shows the limit).
func TestLoadFanout(t *testing.T) {
	n := 200
	if v := os.Getenv("HERALD_LOAD"); v != "" {
		n = 5000
		if m, err := strconv.Atoi(v); err == nil && m > 1 {
			n = m
		}
	}
	const broadcasts = 100
	ensureFiles(t, 2*n+200)

	ts := startServer(t, testConfig())
	runtime.GC()
	baseline := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	clients := make([]*loadClient, n)
	start := time.Now()
	var dialWG sync.WaitGroup
	sem := make(chan struct{}, 64)
	errs := make(chan error, n)
	for i := range clients {
		dialWG.Add(1)
		sem <- struct{}{}
		go func() {
			defer dialWG.Done()
			defer func() { <-sem }()
			c, err := dialLoad(ts.wsURL(testKey), "load")
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			clients[i] = c
		}()
	}
	dialWG.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	connectTime := time.Since(start)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.ws.CloseNow()
			}
		}
	}()
	if got, _ := ts.Channel(testAppID, "load"); got.SubscriptionCount != n {
		t.Fatalf("%d subscribers, want %d", got.SubscriptionCount, n)
	}

	runtime.GC()
	var connected runtime.MemStats
	runtime.ReadMemStats(&connected)
	// The test clients have no goroutine of their own until they start
	// reading below: what is counted here is the server's, reader and
	// writer.
	perConnGoroutines := float64(runtime.NumGoroutine()-baseline) / float64(n)
	if perConnGoroutines > 2.05 {
		t.Errorf("%.2f server goroutines per connection, want at most 2", perConnGoroutines)
	}

	// Start the readers, then broadcast; each broadcast goes out once the
	// previous one reached every client, so a latency is one fan-out, not
	// queueing behind earlier ones.
	var received atomic.Int64
	var readers sync.WaitGroup
	for _, c := range clients {
		readers.Add(1)
		go func() {
			defer readers.Done()
			c.readEvents(broadcasts, &received)
		}()
	}
	completions := make([]time.Duration, broadcasts)
	fanStart := time.Now()
	for i := range broadcasts {
		sent := time.Now()
		data := strconv.Itoa(i) + ":" + strconv.FormatInt(sent.UnixNano(), 10)
		if err := ts.Trigger(testAppID, []string{"load"}, "tick", data, ""); err != nil {
			t.Fatal(err)
		}
		want := int64((i + 1) * n)
		deadline := time.Now().Add(60 * time.Second)
		for received.Load() < want {
			if time.Now().After(deadline) {
				t.Fatalf("broadcast %d: %d of %d deliveries after 60 s", i, received.Load()-int64(i*n), n)
			}
			time.Sleep(200 * time.Microsecond)
		}
		completions[i] = time.Since(sent)
	}
	fanTime := time.Since(fanStart)
	readers.Wait()

	var latencies []time.Duration
	for i, c := range clients {
		if c.err != nil {
			t.Fatalf("client %d: %v", i, c.err)
		}
		if len(c.latencies) != broadcasts {
			t.Fatalf("client %d received %d events, want %d", i, len(c.latencies), broadcasts)
		}
		latencies = append(latencies, c.latencies...)
	}
	slices.Sort(latencies)
	slices.Sort(completions)
	pct := func(d []time.Duration, p float64) time.Duration { return d[int(p*float64(len(d)-1))] }
	heap := int64(connected.HeapInuse+connected.StackInuse) - int64(before.HeapInuse+before.StackInuse)
	t.Logf("%d connections, %d broadcasts, %d deliveries, GOMAXPROCS %d", n, broadcasts, len(latencies), runtime.GOMAXPROCS(0))
	t.Logf("connect+subscribe: %v total", connectTime.Round(time.Millisecond))
	t.Logf("fan-out latency per delivery (trigger to client read): median %v, p99 %v, max %v",
		pct(latencies, 0.5).Round(time.Microsecond), pct(latencies, 0.99).Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
	t.Logf("broadcast reaching all %d clients: median %v, p99 %v; %d broadcasts in %v",
		n, pct(completions, 0.5).Round(time.Microsecond), pct(completions, 0.99).Round(time.Microsecond), broadcasts, fanTime.Round(time.Millisecond))
	t.Logf("memory per connection (heap+stacks, server and client ends, both in this process): %.1f KiB", float64(heap)/float64(n)/1024)
	t.Logf("server goroutines per connection: %.2f", perConnGoroutines)

	for _, c := range clients {
		c.ws.Close(websocket.StatusNormalClosure, "")
	}
	eventually(t, "the server to see every client leave", func() bool { return ts.Connections() == 0 })
	eventually(t, "goroutines to return to the baseline", func() bool { return runtime.NumGoroutine() <= baseline })
}

// ensureFiles raises the soft open-files limit to need (up to the hard
// limit) or skips the test.
func ensureFiles(t *testing.T, need int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot read RLIMIT_NOFILE: %v", err)
	}
	if lim.Cur >= uint64(need) {
		return
	}
	if lim.Max < uint64(need) {
		t.Skipf("need %d open files, hard limit is %d (raise ulimit -n)", need, lim.Max)
	}
	lim.Cur = uint64(need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot raise RLIMIT_NOFILE to %d: %v", need, err)
	}
}

type loadClient struct {
	ws        *websocket.Conn
	latencies []time.Duration
	err       error
}

// dialLoad connects and subscribes to a public channel.
func dialLoad(url, ch string) (*loadClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c := &loadClient{ws: ws}
	if _, _, err := ws.Read(ctx); err != nil { // connection_established
		ws.CloseNow()
		return nil, err
	}
	sub, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": ch}})
	if err := ws.Write(ctx, websocket.MessageText, sub); err != nil {
		ws.CloseNow()
		return nil, err
	}
	_, b, err := ws.Read(ctx)
	if err != nil || !strings.Contains(string(b), "subscription_succeeded") {
		ws.CloseNow()
		return nil, fmt.Errorf("subscribe: %s %v", b, err)
	}
	return c, nil
}

// readEvents reads n events, checking their order and recording latency.
func (c *loadClient) readEvents(n int, received *atomic.Int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c.latencies = make([]time.Duration, 0, n)
	var f struct {
		Event string `json:"event"`
		Data  string `json:"data"`
	}
	for len(c.latencies) < n {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			c.err = err
			return
		}
		now := time.Now()
		if err := json.Unmarshal(b, &f); err != nil || f.Event != "tick" {
			c.err = fmt.Errorf("unexpected frame %s", b)
			return
		}
		seq, sent, _ := strings.Cut(f.Data, ":")
		if seq != strconv.Itoa(len(c.latencies)) {
			c.err = fmt.Errorf("event %s arrived as number %d", seq, len(c.latencies))
			return
		}
		ns, _ := strconv.ParseInt(sent, 10, 64)
		c.latencies = append(c.latencies, now.Sub(time.Unix(0, ns)))
		received.Add(1)
	}
}

// BenchmarkHubPublish_1000Subs measures queueing one event for 1,000
// subscribers: encoding once, then a non-blocking send per connection.
func BenchmarkHubPublish_1000Subs(b *testing.B) {
	benchmarkHubPublish(b, 1000)
}

func BenchmarkHubPublish_10Subs(b *testing.B) {
	benchmarkHubPublish(b, 10)
}

func benchmarkHubPublish(b *testing.B, subs int) {
	s, err := New(testConfig())
	if err != nil {
		b.Fatal(err)
	}
	h := s.byID[testAppID]
	conns := make([]*conn, subs)
	for i := range conns {
		conns[i] = newConn(s, h, nil, fmt.Sprintf("%d.1", i), nil)
		h.add(conns[i])
		if refusal := h.subscribe(conns[i], "bench", nil); refusal != nil {
			b.Fatalf("%s", refusal)
		}
		<-conns[i].send
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if got := h.publish("bench", "tick", `{"n":1}`, ""); got != subs {
			b.Fatalf("queued for %d, want %d", got, subs)
		}
		for _, c := range conns {
			<-c.send
		}
	}
}
