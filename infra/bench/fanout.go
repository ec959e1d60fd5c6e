package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
)

// Credentials of the stand-ins: Pusher's published example key and secret,
// and a made-up Ably key. Nothing here reaches a real provider.
const (
	benchAppID     = "3"
	benchKey       = "278d425bdf160c739803"
	benchSecret    = "7ad3773142a6692b25b8"
	benchAblyKey   = "bench.key"
	benchAblyToken = "bench-secret"
)

// Round trips per provider call: Pusher batches 10 events per
// batch_events call, Ably 100 channels per batch publish.
const (
	pusherEventsPerCall = 10
	ablyChannelsPerCall = 100
)

// sqsBatch is an SQS event of n messages, one event on its own channel
// each, as the queue's event source mapping delivers it.
func sqsBatch(n int) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, n)}
	sent := strconv.FormatInt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), 10)
	for i := range n {
		body := fmt.Sprintf(`{"name":"OrderShipped","channels":["private-App.Models.User.%d"],"data":{"order_id":%d,"status":"shipped","carrier":"DHL"}}`, i+1, 1000+i)
		sum := md5.Sum([]byte(body))
		ev.Records[i] = events.SQSMessage{
			MessageId:     fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1),
			ReceiptHandle: fmt.Sprintf("AQEB%08d", i+1),
			Body:          body,
			Md5OfBody:     hex.EncodeToString(sum[:]),
			Attributes: map[string]string{
				"ApproximateReceiveCount": "1", "SentTimestamp": sent,
				"SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": sent,
			},
			MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSource:       "aws:sqs",
			EventSourceARN:    "arn:aws:sqs:eu-west-1:123456789012:herald-broadcast",
			AWSRegion:         "eu-west-1",
		}
	}
	return ev
}

// writeBatch writes sqsBatch(n) as JSON into dir and returns its path.
func writeBatch(dir string, n int) (string, error) {
	b, err := json.Marshal(sqsBatch(n))
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("sqs-%d.json", n))
	return path, os.WriteFile(path, b, 0o644)
}

// floor is the performance target's lower bound on wall time for n
// single-channel events: calls / concurrency round trips, with perCall
// events per call, and never less than the one round trip any batch takes
// (10 Ably calls at 16 in flight would otherwise ask for 0.6 of one).
func floor(n, perCall, concurrency int, rtt time.Duration) time.Duration {
	calls := (n + perCall - 1) / perCall
	return time.Duration(max(float64(calls)/float64(concurrency), 1) * float64(rtt))
}

// roundFloor is the same bound counted in whole round trips: no client can
// answer in less than one.
func roundFloor(n, perCall, concurrency int, rtt time.Duration) time.Duration {
	calls := (n + perCall - 1) / perCall
	rounds := (calls + concurrency - 1) / concurrency
	return time.Duration(rounds) * rtt
}

// fanoutResult is one handler run on one batch.
type fanoutResult struct {
	Who      string        // "herald pusher", "node idiomatic", ...
	N        int           // messages in the batch
	Wall     time.Duration // handler start to return
	CPU      time.Duration // process user+sys while the handler ran
	ProcCPU  time.Duration // the whole child process's user+sys, measured by the parent
	MaxRSS   int64         // the child's peak resident set, bytes
	Failures int           // messages the handler reported as failed
	Tally    tally         // what the stand-in counted
	// Lead is from the handler's start to the provider's first request:
	// decoding, planning, connecting.
	Lead time.Duration
	// Runs is how many runs this one is the median of.
	Runs int
}

// workerReport is what a child prints: the measurement taken inside it.
type workerReport struct {
	WallMS    float64 `json:"wall_ms"`
	CPUUserMS float64 `json:"cpu_user_ms"`
	CPUSysMS  float64 `json:"cpu_sys_ms"`
	Messages  int     `json:"messages"`
	Failures  int     `json:"failures"`
	// StartUnixMS is when the handler was called, for comparing with the
	// stand-in's clock (same machine).
	StartUnixMS float64 `json:"start_unix_ms"`
	// PeakRSSKiB is the child's peak resident set once the handler has
	// returned: VmHWM of its /proc/self/status.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
}

// Environment of a fan-out worker child.
const (
	envWorker      = "HERALD_BENCH_WORKER" // "queue" or "auth"
	envDriver      = "HERALD_BENCH_DRIVER" // "pusher" or "ably"
	envEventFile   = "HERALD_BENCH_EVENT"
	envProvider    = "HERALD_BENCH_PROVIDER" // host:port of the stand-in
	envConcurrency = "BROADCAST_CONCURRENCY"
)

// runWorker is the child side of the benchmark, chosen by envWorker:
// "queue" runs the queue handler once (workQueue), "auth" serves the auth
// handler (runAuthServer). It returns the process exit code.
func runWorker() int {
	switch w := os.Getenv(envWorker); w {
	case "auth":
		return runAuthServer()
	case "queue":
	default:
		fmt.Fprintf(os.Stderr, "worker: unknown %s=%q\n", envWorker, w)
		return 2
	}
	rep, err := workQueue(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

// workQueue builds the queue handler over the driver envDriver names, runs
// it once on the event file and reports what that took.
func workQueue(ctx context.Context) (workerReport, error) {
	conc, err := strconv.Atoi(os.Getenv(envConcurrency))
	if err != nil {
		return workerReport{}, fmt.Errorf("%s: %v", envConcurrency, err)
	}
	drv, err := newDriver(os.Getenv(envDriver), os.Getenv(envProvider), conc)
	if err != nil {
		return workerReport{}, err
	}
	data, err := os.ReadFile(os.Getenv(envEventFile))
	if err != nil {
		return workerReport{}, err
	}
	h, err := queue.FromEnv(context.Background(), config.Map(nil), queue.Deps{Driver: drv, Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	if err != nil {
		return workerReport{}, err
	}

	// As in Lambda, the measured invocation starts from the event's bytes:
	// the handler decodes them, broadcasts and encodes its answer.
	ru0, err := rusage()
	if err != nil {
		return workerReport{}, err
	}
	t0 := time.Now()
	out, err := h.Invoke(ctx, data)
	wall := time.Since(t0)
	ru1, _ := rusage()
	if err != nil {
		return workerReport{}, fmt.Errorf("handler: %w", err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return workerReport{}, fmt.Errorf("handler answered %.200s: %w", out, err)
	}
	ev, err := queue.DecodeEvent(data)
	if err != nil {
		return workerReport{}, err
	}
	return workerReport{
		WallMS:      ms(wall),
		CPUUserMS:   ms(tv(ru1.Utime) - tv(ru0.Utime)),
		CPUSysMS:    ms(tv(ru1.Stime) - tv(ru0.Stime)),
		Messages:    len(ev.Records),
		Failures:    len(resp.BatchItemFailures),
		StartUnixMS: float64(t0.UnixNano()) / 1e6,
		PeakRSSKiB:  peakRSSKiB(),
	}, nil
}

// newDriver builds herald's real driver against a stand-in at addr.
func newDriver(name, addr string, concurrency int) (broadcast.Driver, error) {
	switch name {
	case "pusher":
		host, port, err := splitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return broadcast.NewPusher(broadcast.PusherConfig{
			AppID: benchAppID, Key: benchKey, Secret: benchSecret,
			Host: host, Port: port, Scheme: "http", Concurrency: concurrency,
		})
	case "ably":
		host, port, err := splitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return broadcast.NewAbly(broadcast.AblyConfig{
			Key: benchAblyKey + ":" + benchAblyToken, Host: host, Port: port, Scheme: "http", Concurrency: concurrency,
		})
	}
	return nil, fmt.Errorf("unknown driver %q", name)
}

// runChild runs cmd to completion and returns its report with the
// process-wide figures only the parent can see.
func runChild(ctx context.Context, cmd *exec.Cmd) (workerReport, time.Duration, int64, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return workerReport{}, 0, 0, fmt.Errorf("%s: %v (%v)\nstderr:\n%s", filepath.Base(cmd.Path), err, ctx.Err(), tailString(stderr.String(), 3000))
	}
	var rep workerReport
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &rep); err != nil {
		return workerReport{}, 0, 0, fmt.Errorf("%s printed %q: %v", filepath.Base(cmd.Path), stdout.String(), err)
	}
	// The peak resident set is the child's own report, not the rusage
	// wait4 returns: os/exec starts children with vfork (CLONE_VM), and at
	// exec Linux folds the shared memory's peak, this process's, into the
	// child's ru_maxrss, so a child could never report less than this
	// process held when it started it.
	if rep.PeakRSSKiB <= 0 {
		return workerReport{}, 0, 0, fmt.Errorf("%s reported no peak RSS: %s", filepath.Base(cmd.Path), stdout.String())
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var cpu time.Duration
	if ru != nil {
		cpu = tv(ru.Utime) + tv(ru.Stime)
	}
	return rep, cpu, rep.PeakRSSKiB * 1024, nil
}

// peakRSSKiB is this process's peak resident set (VmHWM in
// /proc/self/status), in KiB; 0 when it cannot be read.
func peakRSSKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// fanout measures one handler on one batch: herald's queue handler in a
// child process running this program as a worker, or a Node.js script.
type fanout struct {
	env         *benchEnv
	concurrency int
}

// herald runs the queue handler with driver ("pusher", "ably") on n
// messages against the matching stand-in.
func (f *fanout) herald(ctx context.Context, driver string, n int) (fanoutResult, error) {
	path, err := f.env.batchFile(n)
	if err != nil {
		return fanoutResult{}, err
	}
	standin := f.env.pusher
	if driver == "ably" {
		standin = f.env.ably
	}
	standin.counter().take()
	cmd := exec.CommandContext(ctx, f.env.self)
	cmd.Env = append(os.Environ(),
		envWorker+"=queue", envDriver+"="+driver, envEventFile+"="+path,
		envProvider+"="+standin.addr, envConcurrency+"="+strconv.Itoa(f.concurrency))
	rep, cpu, rss, err := runChild(ctx, cmd)
	if err != nil {
		return fanoutResult{}, err
	}
	return f.result("herald "+driver, n, rep, cpu, rss, standin.counter().take()), nil
}

// node runs infra/bench/node/<script>.js on n messages against the Pusher
// stand-in.
func (f *fanout) node(ctx context.Context, script string, n int) (fanoutResult, error) {
	path, err := f.env.batchFile(n)
	if err != nil {
		return fanoutResult{}, err
	}
	host, port, err := splitHostPort(f.env.pusher.addr)
	if err != nil {
		return fanoutResult{}, err
	}
	f.env.pusher.counter().take()
	defer f.env.every(15*time.Second, func() {
		f.env.progress("fan-out node %-10s N=%-6d ... %d events so far", script, n, f.env.pusher.counter().accepted())
	})()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(f.env.root, "infra", "bench", "node", script+".js"), path)
	cmd.Env = append(os.Environ(), "NODE_PATH="+f.env.nodeModules,
		"PUSHER_APP_ID="+benchAppID, "PUSHER_APP_KEY="+benchKey, "PUSHER_APP_SECRET="+benchSecret,
		"PUSHER_HOST="+host, "PUSHER_PORT="+strconv.Itoa(port),
		envConcurrency+"="+strconv.Itoa(f.concurrency))
	rep, cpu, rss, err := runChild(ctx, cmd)
	if err != nil {
		return fanoutResult{}, err
	}
	return f.result("node "+script, n, rep, cpu, rss, f.env.pusher.counter().take()), nil
}

func (f *fanout) result(who string, n int, rep workerReport, cpu time.Duration, rss int64, t tally) fanoutResult {
	return fanoutResult{
		Who: who, N: n,
		Wall:     msDuration(rep.WallMS),
		CPU:      msDuration(rep.CPUUserMS + rep.CPUSysMS),
		ProcCPU:  cpu,
		MaxRSS:   rss,
		Failures: rep.Failures,
		Tally:    t,
		Lead:     t.First.Sub(time.UnixMicro(int64(rep.StartUnixMS * 1000))),
		Runs:     1,
	}
}

// check is the correctness condition of a run: no failures reported and
// exactly one event on each of the n channels at the stand-in.
func (r fanoutResult) check() error {
	if r.Failures != 0 {
		return fmt.Errorf("%s on %d messages: the handler reported %d failures", r.Who, r.N, r.Failures)
	}
	if err := r.Tally.check(r.N); err != nil {
		return fmt.Errorf("%s on %d messages: %w", r.Who, r.N, err)
	}
	return nil
}

// eventsPerSecond is the throughput of a run.
func (r fanoutResult) eventsPerSecond() float64 {
	if r.Wall <= 0 {
		return math.Inf(1)
	}
	return float64(r.N) / r.Wall.Seconds()
}

func rusage() (syscall.Rusage, error) {
	var ru syscall.Rusage
	err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru, err
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func msDuration(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func tailString(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
