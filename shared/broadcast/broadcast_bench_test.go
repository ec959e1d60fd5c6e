package broadcast

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchServer answers every provider request after delay, counting them.
// It does not verify signatures: the benchmarks measure the driver.
func benchServer(b *testing.B, delay time.Duration, answer string, status int) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n.Add(1)
		if delay > 0 {
			time.Sleep(delay)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	b.Cleanup(srv.Close)
	return srv, &n
}

func hostPort(srv *httptest.Server) (string, int) {
	u, _ := url.Parse(srv.URL)
	host, port, _ := net.SplitHostPort(u.Host)
	p, _ := strconv.Atoi(port)
	return host, p
}

// benchMessages is n single-channel events, one per user, as an SQS batch
// of EmailSent notifications would be.
func benchMessages(n int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{
			Name:     "EmailSent",
			Channels: []string{"private-App.Models.User." + strconv.Itoa(i)},
			Data:     `{"subject":"Welcome","id":` + strconv.Itoa(i) + `}`,
			ID:       "msg-" + strconv.Itoa(i),
		}
	}
	return msgs
}

func benchPusher(b *testing.B, srv *httptest.Server, concurrency int) *Pusher {
	host, port := hostPort(srv)
	d, err := NewPusher(PusherConfig{AppID: "3", Key: exampleKey, Secret: exampleSecret, Host: host, Port: port, Scheme: "http", Concurrency: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func benchAbly(b *testing.B, srv *httptest.Server, concurrency int) *Ably {
	host, port := hostPort(srv)
	d, err := NewAbly(AblyConfig{Key: testAblyKey, Host: host, Port: port, Scheme: "http", Concurrency: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func BenchmarkPusherPlan_1000(b *testing.B)  { benchPusherPlan(b, 1000) }
func BenchmarkPusherPlan_10000(b *testing.B) { benchPusherPlan(b, 10000) }

func benchPusherPlan(b *testing.B, n int) {
	d, _ := NewPusher(PusherConfig{AppID: "3", Key: exampleKey, Secret: exampleSecret})
	msgs := benchMessages(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, calls := d.plan(msgs); len(calls) != (n+9)/10 {
			b.Fatalf("%d calls", len(calls))
		}
	}
}

func BenchmarkAblyPlan_1000(b *testing.B)  { benchAblyPlan(b, 1000) }
func BenchmarkAblyPlan_10000(b *testing.B) { benchAblyPlan(b, 10000) }

func benchAblyPlan(b *testing.B, n int) {
	d, _ := NewAbly(AblyConfig{Key: testAblyKey})
	msgs := benchMessages(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, calls, _ := d.plan(msgs); len(calls) != (n+99)/100 {
			b.Fatalf("%d calls", len(calls))
		}
	}
}

// The Broadcast benchmarks against an instant loopback server measure the
// driver's own cost per batch (CPU, allocations), SDK included.

func BenchmarkPusherBroadcast_1000(b *testing.B)  { benchPusherBroadcast(b, 1000) }
func BenchmarkPusherBroadcast_10000(b *testing.B) { benchPusherBroadcast(b, 10000) }

func benchPusherBroadcast(b *testing.B, n int) {
	srv, _ := benchServer(b, 0, `{"batch":[]}`, http.StatusOK)
	d := benchPusher(b, srv, 0)
	msgs := benchMessages(n)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Broadcast(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

func BenchmarkAblyBroadcast_1000(b *testing.B)  { benchAblyBroadcast(b, 1000) }
func BenchmarkAblyBroadcast_10000(b *testing.B) { benchAblyBroadcast(b, 10000) }

func benchAblyBroadcast(b *testing.B, n int) {
	srv, _ := benchServer(b, 0, `[]`, http.StatusCreated)
	d := benchAbly(b, srv, 0)
	msgs := benchMessages(n)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Broadcast(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

// The RTT benchmarks inject the 20 ms round trip of a hosted API and report
// wall time against the floor ceil(calls / concurrency) x 20 ms, at several
// concurrency limits; they are what DefaultConcurrency was chosen from.
// Target: within 1.3x of the floor at 1,000 and 10,000 events.

func BenchmarkPusherRTT20ms(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, c := range []int{4, DefaultConcurrency, 64} {
			b.Run(fmt.Sprintf("events=%d/concurrency=%d", n, c), func(b *testing.B) {
				srv, count := benchServer(b, 20*time.Millisecond, `{"batch":[]}`, http.StatusOK)
				benchRTT(b, benchPusher(b, srv, c), count, n, c, (n+9)/10)
			})
		}
	}
}

func BenchmarkAblyRTT20ms(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, c := range []int{4, DefaultConcurrency, 64} {
			b.Run(fmt.Sprintf("events=%d/concurrency=%d", n, c), func(b *testing.B) {
				srv, count := benchServer(b, 20*time.Millisecond, `[]`, http.StatusCreated)
				benchRTT(b, benchAbly(b, srv, c), count, n, c, (n+99)/100)
			})
		}
	}
}

func benchRTT(b *testing.B, d Driver, count *atomic.Int64, n, concurrency, wantCalls int) {
	msgs := benchMessages(n)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Broadcast(context.Background(), msgs); err != nil {
			b.Fatal(err)
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	floor := time.Duration(math.Ceil(float64(wantCalls)/float64(concurrency))) * 20 * time.Millisecond
	ratio := float64(perOp) / float64(floor)
	b.ReportMetric(float64(count.Load())/float64(b.N), "requests/op")
	b.ReportMetric(ratio, "x-floor")
	b.ReportMetric(float64(n)/perOp.Seconds(), "events/s")
	verdict := "met"
	if ratio > 1.3 {
		verdict = fmt.Sprintf("MISSED by %.0f%%", (ratio/1.3-1)*100)
	}
	b.Logf("%d events, %d requests, concurrency %d: %v per batch, floor %v, %.2fx floor (target <= 1.3x: %s)",
		n, count.Load()/int64(b.N), concurrency, perOp.Round(time.Millisecond), floor, ratio, verdict)
}
