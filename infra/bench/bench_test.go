package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/heraldrt/herald/shared/signature"
)

// TestMain lets the test binary serve as the benchmark's worker, as the
// bench program does when it re-executes itself.
func TestMain(m *testing.M) {
	if os.Getenv(envWorker) != "" {
		os.Exit(runWorker())
	}
	os.Exit(m.Run())
}

// testEnv is a benchmark environment whose stand-ins answer after 2 ms.
func testEnv(t *testing.T) *benchEnv {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env, err := newBenchEnv(root, t.TempDir(), self, 2*time.Millisecond, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.close)
	return env
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Every handler must deliver exactly one event to each of the batch's
// channels, in as many provider requests as its strategy implies.
func TestFanoutDeliversEveryEvent(t *testing.T) {
	env := testEnv(t)
	ctx := testContext(t, 3*time.Minute)
	f := &fanout{env: env, concurrency: 4}
	tests := []struct {
		name     string
		run      func() (fanoutResult, error)
		requests int
	}{
		{"herald pusher", func() (fanoutResult, error) { return f.herald(ctx, "pusher", 25) }, 3},
		{"herald ably", func() (fanoutResult, error) { return f.herald(ctx, "ably", 25) }, 1},
		{"node tuned", func() (fanoutResult, error) { return f.node(ctx, "tuned", 25) }, 3},
		{"node idiomatic", func() (fanoutResult, error) { return f.node(ctx, "idiomatic", 25) }, 25},
	}
	// The children start while this process holds 256 MiB: their peak RSS
	// must be their own, not this process's (see runChild).
	held := make([]byte, 256<<20)
	for i := range held {
		held[i] = 1
	}
	defer runtime.KeepAlive(held)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			if err := r.check(); err != nil {
				t.Fatal(err)
			}
			if r.N != 25 || r.Tally.Events != 25 {
				t.Fatalf("N %d, events %d; want 25", r.N, r.Tally.Events)
			}
			if r.Tally.Requests != tt.requests {
				t.Errorf("%d provider requests, want %d", r.Tally.Requests, tt.requests)
			}
			if r.Wall <= 0 || r.MaxRSS <= 0 || r.ProcCPU <= 0 {
				t.Errorf("measurement missing: wall %v, peak RSS %d, process CPU %v", r.Wall, r.MaxRSS, r.ProcCPU)
			}
			if r.MaxRSS >= 200<<20 {
				t.Errorf("peak RSS %.1f MiB on 25 messages: the parent's 256 MiB counted as the child's", float64(r.MaxRSS)/(1<<20))
			}
		})
	}
}

// The stand-ins refuse what the real APIs refuse, so a client that signs
// wrongly or packs too much cannot pass the benchmark.
func TestStandinsRefuse(t *testing.T) {
	env := testEnv(t)
	post := func(t *testing.T, rawURL, contentType string, body []byte, auth func(*http.Request)) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, rawURL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		if auth != nil {
			auth(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	pusherURL := func(path string, body []byte, secret string) string {
		q := signature.SignRequest(http.MethodPost, path, url.Values{}, body, benchKey, secret, time.Now())
		return "http://" + env.pusher.addr + path + "?" + q.Encode()
	}
	batch := func(n int) []byte {
		var evs []string
		for i := range n {
			evs = append(evs, fmt.Sprintf(`{"channel":"c%d","name":"e","data":"{}"}`, i))
		}
		return []byte(`{"batch":[` + strings.Join(evs, ",") + `]}`)
	}
	path := "/apps/" + benchAppID + "/batch_events"
	basic := func(user, pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	specs := func(channels int) []byte {
		var cs []string
		for i := range channels {
			cs = append(cs, fmt.Sprintf("public:c%d", i))
		}
		b, _ := msgpack.Marshal([]map[string]any{{"channels": cs, "messages": []map[string]any{{"name": "e", "data": "{}"}}}})
		return b
	}
	tests := []struct {
		name   string
		status func(t *testing.T) int
		want   int
		events int
	}{
		{"pusher: signed batch of 10", func(t *testing.T) int {
			return post(t, pusherURL(path, batch(10), benchSecret), "application/json", batch(10), nil)
		}, http.StatusOK, 10},
		{"pusher: wrong secret", func(t *testing.T) int {
			return post(t, pusherURL(path, batch(1), "not-the-secret"), "application/json", batch(1), nil)
		}, http.StatusUnauthorized, 0},
		{"pusher: body changed after signing", func(t *testing.T) int {
			return post(t, pusherURL(path, batch(1), benchSecret), "application/json", batch(2), nil)
		}, http.StatusUnauthorized, 0},
		{"pusher: batch of 11", func(t *testing.T) int {
			return post(t, pusherURL(path, batch(11), benchSecret), "application/json", batch(11), nil)
		}, http.StatusBadRequest, 0},
		{"ably: msgpack batch of 100 channels", func(t *testing.T) int {
			return post(t, "http://"+env.ably.addr+"/messages", "application/x-msgpack", specs(100), basic(benchAblyKey, benchAblyToken))
		}, http.StatusCreated, 100},
		{"ably: 101 channels", func(t *testing.T) int {
			return post(t, "http://"+env.ably.addr+"/messages", "application/x-msgpack", specs(101), basic(benchAblyKey, benchAblyToken))
		}, http.StatusBadRequest, 0},
		{"ably: wrong key secret", func(t *testing.T) int {
			return post(t, "http://"+env.ably.addr+"/messages", "application/x-msgpack", specs(1), basic(benchAblyKey, "wrong"))
		}, http.StatusUnauthorized, 0},
		{"ably: no credentials", func(t *testing.T) int {
			return post(t, "http://"+env.ably.addr+"/messages", "application/x-msgpack", specs(1), nil)
		}, http.StatusUnauthorized, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.pusher.counter().take()
			env.ably.counter().take()
			if got := tt.status(t); got != tt.want {
				t.Fatalf("HTTP %d, want %d", got, tt.want)
			}
			p, a := env.pusher.counter().take(), env.ably.counter().take()
			if got := p.Events + a.Events; got != tt.events {
				t.Errorf("%d events counted, want %d", got, tt.events)
			}
			if refused := p.Refusals + a.Refusals; (tt.want >= 300) != (refused == 1) {
				t.Errorf("%d refusals counted for HTTP %d", refused, tt.want)
			}
		})
	}
}

// Both auth servers answer verifiable signatures under load and refuse a
// token signed with another secret.
func TestAuthServers(t *testing.T) {
	env := testEnv(t)
	ctx := testContext(t, 3*time.Minute)
	results, err := runAuth(ctx, env, options{authRequests: 50, authConcurrency: []int{1, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 12 {
		t.Fatalf("%d results, want herald and both Node peers for private and presence at 1 and 4 in flight", len(results))
	}
	for _, r := range results {
		if r.Requests != 50 || r.P50 <= 0 || r.P99 < r.P50 || r.ServerCPU < 0 {
			t.Errorf("%s %s: %d requests, p50 %v, p99 %v", r.Server, r.Kind, r.Requests, r.P50, r.P99)
		}
	}

	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "1", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte("another-secret-of-at-least-32-bytes-long"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range authServers(ctx, env) {
		t.Run(s.name+" refuses a forged token", func(t *testing.T) {
			srv, err := startServer(ctx, s.cmd())
			if err != nil {
				t.Fatal(err)
			}
			defer srv.stop()
			_, err = authLoad(ctx, srv, "private", 1, 1, []string{forged})
			if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
				t.Fatalf("forged token: %v, want HTTP 401", err)
			}
		})
	}
}

// A cold start of the baseline and of the queue function answers its
// invocation correctly under the emulator (runCold checks each answer and
// that the queue's event reached the stand-in).
func TestColdStart(t *testing.T) {
	env := testEnv(t)
	ctx := testContext(t, 10*time.Minute)
	res, err := runCold(ctx, env, options{coldRuns: 1, coldOnly: map[string]bool{"queue": true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range res.binaries {
		switch b.name {
		case "hello", "queue":
			if len(b.runs) != 1 || b.runs[0] <= 0 || b.arm64Size <= 0 || len(b.inits) != 1 || b.inits[0] <= 0 || len(b.heaviest) == 0 {
				t.Errorf("%s: runs %v, arm64 size %d, package init %v", b.name, b.runs, b.arm64Size, b.inits)
			}
		default:
			if b.skipped == "" {
				t.Errorf("%s measured though not selected", b.name)
			}
		}
	}
}

// The report states every target with a verdict.
func TestReportJudges(t *testing.T) {
	tests := []struct {
		got  string
		want string
	}{
		{atMost(1.2, 1.3, "x"), "PASS"},
		{atMost(1.5, 1.3, "x"), "**MISS** by 15%"},
		{atLeast(60, 50, "x"), "PASS"},
		{atLeast(25, 50, "x"), "**MISS** by 50%"},
	}
	for _, tt := range tests {
		if !strings.HasPrefix(tt.got, tt.want) {
			t.Errorf("%q does not start with %q", tt.got, tt.want)
		}
	}
	if got := floor(1000, 10, 16, 20*time.Millisecond); got != 125*time.Millisecond {
		t.Errorf("floor(1000) = %v, want 125ms", got)
	}
	if got := floor(1000, 100, 16, 20*time.Millisecond); got != 20*time.Millisecond {
		t.Errorf("floor(1000 at 100 per call) = %v, want one round trip, 20ms", got)
	}
	if got := floor(10000, 100, 16, 20*time.Millisecond); got != 125*time.Millisecond {
		t.Errorf("floor(10000 at 100 per call) = %v, want 125ms", got)
	}
	if got := roundFloor(1000, 10, 16, 20*time.Millisecond); got != 140*time.Millisecond {
		t.Errorf("roundFloor(1000) = %v, want 140ms", got)
	}
	m := medianRun([]fanoutResult{
		{Wall: 30 * time.Millisecond, MaxRSS: 5},
		{Wall: 10 * time.Millisecond, MaxRSS: 9},
		{Wall: 20 * time.Millisecond, MaxRSS: 7},
	})
	if m.Wall != 20*time.Millisecond || m.MaxRSS != 9 || m.Runs != 3 {
		t.Errorf("medianRun = wall %v, peak RSS %d, runs %d; want 20ms, 9, 3", m.Wall, m.MaxRSS, m.Runs)
	}
	ev := sqsBatch(3)
	b, _ := json.Marshal(ev)
	if !bytes.Contains(b, []byte(`"messageId":"00000000-0000-4000-8000-000000000003"`)) ||
		!strings.Contains(ev.Records[2].Body, `"private-App.Models.User.3"`) {
		t.Errorf("batch is not as the queue receives it: %s", b)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, ""},
		{[]string{"-sizes", "10,1000", "-auth-concurrency", "1,8,32", "-parts", "fanout"}, ""},
		{[]string{"-sizes", "10,0"}, "-sizes"},
		{[]string{"-auth-concurrency", "x"}, "-auth-concurrency"},
		{[]string{"-parts", "fanout,speed"}, "unknown part"},
		{[]string{"-concurrency", "0"}, "-concurrency"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(o.sizes) == 0 || len(o.authConcurrency) == 0 || len(o.parts) == 0 {
					t.Errorf("incomplete options: %+v", o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
