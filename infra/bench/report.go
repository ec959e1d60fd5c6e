package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Targets from the performance requirements. The benchmark states them and
// says PASS or MISS; nothing asserts them in a timed test.
const (
	targetFloorRatio    = 1.3  // fan-out wall time / floor, at 1,000 and 10,000
	targetVsIdiomatic   = 50.0 // speed-up over the idiomatic Node peer, at least
	targetVsTunedWall   = 1.0  // wall time / the tuned Node peer's, at most
	targetVsTunedCPU    = 0.5  // CPU seconds / the tuned Node peer's, at most
	targetColdRatio     = 1.5  // cold start / hello world, at most (HTTP functions)
	targetColdExtraMs   = 10.0 // cold start - hello world, at most (queue and stream functions)
	targetBinaryMiB     = 16.0 // arm64 stripped binary, at most
	targetRSSMiB        = 64.0 // peak RSS on the 10,000-message batch, at most
	targetAuthVsNode    = 3.0  // auth requests/s / the Node peer's, at least
	targetAuthP99Millis = 2.0  // auth p99 latency, below
	targetMinMessages   = 1000 // the floor and idiomatic-peer targets apply from this batch size
)

const mib = 1 << 20

// machine is where the benchmark ran.
type machine struct {
	cpus       int
	model      string
	goVersion  string
	node       string
	date       time.Time
	loadBefore string
	loadAfter  string
	commit     string
}

func describeMachine(ctx context.Context) machine {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version(), date: time.Now().UTC(), loadBefore: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.model = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "node", "--version").Output(); err == nil {
		m.node = strings.TrimSpace(string(out))
	}
	m.commit = "unknown"
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.commit = strings.TrimSpace(string(out))
	}
	return m
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// atMost judges value against an upper limit.
func atMost(value, limit float64, unit string) string {
	if value <= limit {
		return fmt.Sprintf("PASS (%s%s, %s under)", num(value), unit, pct((limit-value)/limit))
	}
	return fmt.Sprintf("**MISS** by %s (%s%s)", pct((value-limit)/limit), num(value), unit)
}

// atLeast judges value against a lower limit.
func atLeast(value, limit float64, unit string) string {
	if value >= limit {
		return fmt.Sprintf("PASS (%s%s, %s over)", num(value), unit, pct((value-limit)/limit))
	}
	return fmt.Sprintf("**MISS** by %s (%s%s)", pct((limit-value)/limit), num(value), unit)
}

// pct prints a fraction as a percentage, with a decimal when small.
func pct(f float64) string {
	if f < 0.1 {
		return fmt.Sprintf("%.1f%%", 100*f)
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

// num prints a figure with about three significant digits.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// report collects every part's results and renders them.
type report struct {
	opts    options
	machine machine
	fanout  []fanoutResult
	cold    *coldResults
	auth    []authResult
	// backpressure is the rate-limit part's run, nil when not run.
	backpressure *backpressureResult
	// scale is the scale model's part, nil when not run.
	scale   *scaleResults
	elapsed time.Duration
	summary []judgement // filled while rendering
}

// judgement is one target's verdict, for the summary.
type judgement struct{ what, target, verdict string }

// judge records a verdict for the summary and returns it.
func (r *report) judge(what, target, verdict string) string {
	r.summary = append(r.summary, judgement{what, target, verdict})
	return verdict
}

func (r *report) markdown() string {
	var body strings.Builder
	r.summary = nil
	if len(r.fanout) > 0 {
		r.fanoutTables(&body)
	}
	if r.cold != nil {
		r.coldTable(&body)
	}
	if len(r.auth) > 0 {
		r.authTable(&body)
	}
	if r.backpressure != nil {
		r.backpressureTable(&body)
	}
	if r.scale != nil {
		r.scaleTable(&body)
	}

	var b strings.Builder
	m := r.machine
	fmt.Fprintf(&b, "# herald benchmark\n\n")
	fmt.Fprintf(&b, "Machine: %d CPUs, %s; %s, Node.js %s; %s; load average %s before, %s after; run took %.0f s; herald at commit %s.\n\n",
		m.cpus, m.model, m.goVersion, m.node, m.date.Format("2006-01-02 15:04 UTC"), m.loadBefore, m.loadAfter, r.elapsed.Seconds(), m.commit)
	if busy(m.loadBefore, m.cpus) || busy(m.loadAfter, m.cpus) {
		fmt.Fprintf(&b, "Note: the 1-minute load average exceeded the CPU count; other work competed for the CPUs and the figures are pessimistic.\n\n")
	}
	fmt.Fprintf(&b, "Command: `make bench` (`go run ./infra/bench`). Everything runs on loopback; provider stand-ins answer %v after each request arrives. "+
		"Sizes and memory are in MiB (2^20 bytes), the unit of Lambda's memory setting.\n", r.opts.rtt)
	if len(r.summary) > 0 {
		passed := 0
		for _, j := range r.summary {
			if strings.HasPrefix(j.verdict, "PASS") {
				passed++
			}
		}
		fmt.Fprintf(&b, "\n## Targets: %d of %d met\n\n| measurement | target | result |\n|---|---|---|\n", passed, len(r.summary))
		for _, j := range r.summary {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", j.what, j.target, j.verdict)
		}
	}
	b.WriteString(body.String())
	return b.String()
}

// busy reports whether a load average line's 1-minute figure exceeds cpus.
func busy(load string, cpus int) bool {
	f := strings.Fields(load)
	if len(f) == 0 {
		return false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return err == nil && v > float64(cpus)
}

func (r *report) find(who string, n int) (fanoutResult, bool) {
	for _, f := range r.fanout {
		if f.Who == who && f.N == n {
			return f, true
		}
	}
	return fanoutResult{}, false
}

func (r *report) fanoutTables(b *strings.Builder) {
	c, rtt := r.opts.concurrency, r.opts.rtt
	fmt.Fprintf(b, "\n## Fan-out: one SQS batch, one event per message, each on its own channel\n\n")
	fmt.Fprintf(b, "Concurrency %d (herald's BROADCAST_CONCURRENCY and the tuned Node peer's). Floor = calls / concurrency x %v, and at least one round trip; "+
		"calls = ceil(N/10) for Pusher (batch_events), ceil(N/100) for Ably (batch publish). "+
		"herald and the tuned Node peer run several times in turns; the run with the median wall time is shown (peak RSS: the highest of its runs). "+
		"Wall is one invocation from the event's bytes to the encoded answer, as the Lambda runtime runs it (herald's handler decodes the SQS JSON itself; the Node harness JSON.parses it and JSON.stringifies the answer); "+
		"first request is when the stand-in saw the first provider request, counted from the invocation's start (decoding and planning); "+
		"in flight is the mean and the most requests the stand-in held at once. "+
		"CPU is the handler process's user+sys while the handler ran; process CPU is the whole child process (start, init, handler, exit), measured by the parent.\n\n", c, rtt)
	b.WriteString("| handler | N | runs | wall ms | first request ms | requests | in flight mean / max | events/s | CPU s | process CPU s | floor ms | x floor | target | result |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, f := range r.fanout {
		per := pusherEventsPerCall
		if f.Who == "herald ably" {
			per = ablyChannelsPerCall
		}
		fl := floor(f.N, per, c, rtt)
		ratio := float64(f.Wall) / float64(fl)
		target, result := "", ""
		if strings.HasPrefix(f.Who, "herald") && f.N >= targetMinMessages {
			target = fmt.Sprintf("<= %.1fx floor", targetFloorRatio)
			result = atMost(ratio, targetFloorRatio, "x")
			if rf := roundFloor(f.N, per, c, rtt); rf > fl {
				result += fmt.Sprintf("; %.2fx the whole-round-trip floor of %.0f ms", float64(f.Wall)/float64(rf), ms(rf))
			}
			r.judge(fmt.Sprintf("%s, %d messages: wall / floor", f.Who, f.N), target, result)
		}
		fmt.Fprintf(b, "| %s | %d | %d | %.1f | %.1f | %d | %.1f / %d | %.0f | %.3f | %.3f | %.1f | %.2f | %s | %s |\n",
			f.Who, f.N, f.Runs, ms(f.Wall), ms(f.Lead), f.Tally.Requests, f.Tally.MeanInFlight, f.Tally.MaxInFlight, f.eventsPerSecond(),
			f.CPU.Seconds(), f.ProcCPU.Seconds(), ms(fl), ratio, target, result)
	}

	fmt.Fprintf(b, "\n### herald (pusher driver) against the Node.js `pusher` SDK\n\n")
	b.WriteString("| comparison | N | value | target | result |\n|---|---:|---:|---|---|\n")
	for _, n := range r.opts.sizes {
		h, ok := r.find("herald pusher", n)
		if !ok {
			continue
		}
		row := func(name string, v float64, target string, verdict string) {
			if verdict != "" {
				r.judge(fmt.Sprintf("herald pusher, %d messages: %s", n, name), target, verdict)
			}
			fmt.Fprintf(b, "| %s | %d | %.2fx | %s | %s |\n", name, n, v, target, verdict)
		}
		if id, ok := r.find("node idiomatic", n); ok {
			v := float64(id.Wall) / float64(h.Wall)
			if n >= targetMinMessages {
				row("speed-up over idiomatic Node (wall)", v, fmt.Sprintf(">= %.0fx", targetVsIdiomatic), atLeast(v, targetVsIdiomatic, "x"))
			} else {
				// The idiomatic peer makes N round trips, herald at least one.
				limit := time.Duration(n) * rtt / roundFloor(n, pusherEventsPerCall, c, rtt)
				row("speed-up over idiomatic Node (wall)", v, fmt.Sprintf("(judged from 1,000 messages; here the round trips alone allow about %dx)", limit), "")
			}
			v = float64(id.CPU) / float64(h.CPU)
			row("CPU saving over idiomatic Node (its CPU / herald's)", v, "", "")
		}
		if t, ok := r.find("node tuned", n); ok {
			v := float64(h.Wall) / float64(t.Wall)
			row("wall time / tuned Node's", v, fmt.Sprintf("<= %.1fx", targetVsTunedWall), atMost(v, targetVsTunedWall, "x"))
			v = float64(h.CPU) / float64(t.CPU)
			row("CPU seconds / tuned Node's", v, fmt.Sprintf("<= %.1fx", targetVsTunedCPU), atMost(v, targetVsTunedCPU, "x"))
		}
	}

	largest := r.opts.sizes[0]
	for _, n := range r.opts.sizes {
		largest = max(largest, n)
	}
	fmt.Fprintf(b, "\n### Peak RSS of the handler process on the %d-message batch (128 MB Lambda)\n\n", largest)
	b.WriteString("| process | peak RSS MiB | target | result |\n|---|---:|---|---|\n")
	for _, f := range r.fanout {
		if f.N != largest {
			continue
		}
		rss := float64(f.MaxRSS) / mib
		target, result := "", ""
		if strings.HasPrefix(f.Who, "herald") {
			target = fmt.Sprintf("<= %.0f MiB", targetRSSMiB)
			result = r.judge(fmt.Sprintf("%s, %d messages: peak RSS", f.Who, f.N), target, atMost(rss, targetRSSMiB, " MiB"))
		}
		fmt.Fprintf(b, "| %s | %.1f | %s | %s |\n", f.Who, rss, target, result)
	}
}
