package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/heraldrt/herald/shared/broadcast"
)

// options are the benchmark's knobs; the defaults are what make bench runs.
type options struct {
	sizes           []int
	concurrency     int
	rtt             time.Duration
	idiomaticMax    int
	repeat          int
	coldRuns        int
	coldOnly        map[string]bool // empty: every function
	authRequests    int
	authConcurrency []int
	parts           map[string]bool
	rateMessages    int
	rateLimit       float64
	scaleRate       float64
	scaleEvents     int
	scaleContainers int
	plot            string
	out             string
	timeout         time.Duration
}

func main() {
	if os.Getenv(envWorker) != "" {
		os.Exit(runWorker())
	}
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("sizes", "10,1000,10000", "SQS batch sizes for the fan-out runs")
	conc := fs.Int("concurrency", broadcast.DefaultConcurrency, "provider requests in flight (herald's BROADCAST_CONCURRENCY and the tuned Node peer's)")
	rtt := fs.Duration("rtt", 20*time.Millisecond, "delay the provider stand-ins answer after")
	repeat := fs.Int("repeat", 3, "runs of herald and the tuned Node peer per batch size, and of each auth server per row (the median is reported)")
	idiomaticMax := fs.Int("idiomatic-max", 10000, "largest batch the sequential Node peer is run on (it takes N x rtt)")
	coldRuns := fs.Int("cold-runs", 15, "cold starts per binary (the median is reported)")
	coldOnly := fs.String("cold-only", "", "comma-separated functions to cold-start besides hello (queue,stream,publish,auth); empty for all")
	authRequests := fs.Int("auth-requests", 10000, "auth requests per server and channel kind")
	authConc := fs.String("auth-concurrency", "1,8", "auth requests in flight: one run per value")
	parts := fs.String("parts", "fanout,cold,auth,backpressure,scale", "parts to run: fanout (with the Node peers and peak RSS), cold, auth, backpressure (a batch against a rate-limited stand-in), scale (the scale model and a simulated burst)")
	scaleRate := fs.Float64("scale-rate", 500, "requests per second the simulated provider admits (R)")
	scaleEvents := fs.Int("scale-events", 1_000_000, "events in the simulated burst")
	scaleContainers := fs.Int("scale-containers", 10, "concurrent invocations in the simulated burst (MaximumConcurrency)")
	plot := fs.String("plot", "infra/bench/burst.png", "the simulated burst's plot, relative to the repository root; empty for none")
	rateMessages := fs.Int("rate-messages", 3000, "messages in the backpressure part's SQS batch")
	rateLimit := fs.Float64("rate-limit", 50, "requests per second the backpressure part's stand-in admits per app")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up after this long")
	out := fs.String("out", "infra/bench/results.md", "results file, relative to the repository root; empty for none")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{concurrency: *conc, rtt: *rtt, idiomaticMax: *idiomaticMax, repeat: *repeat, coldRuns: *coldRuns,
		authRequests: *authRequests, out: *out, timeout: *timeout, parts: map[string]bool{},
		rateMessages: *rateMessages, rateLimit: *rateLimit,
		scaleRate: *scaleRate, scaleEvents: *scaleEvents, scaleContainers: *scaleContainers, plot: *plot}
	for _, f := range strings.Split(*coldOnly, ",") {
		if f = strings.TrimSpace(f); f != "" {
			if o.coldOnly == nil {
				o.coldOnly = map[string]bool{}
			}
			o.coldOnly[f] = true
		}
	}
	var err error
	if o.sizes, err = positives("-sizes", *sizes); err != nil {
		return options{}, err
	}
	if o.authConcurrency, err = positives("-auth-concurrency", *authConc); err != nil {
		return options{}, err
	}
	for _, p := range strings.Split(*parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "fanout", "cold", "auth", "backpressure", "scale":
			o.parts[p] = true
		default:
			return options{}, fmt.Errorf("-parts: unknown part %q", p)
		}
	}
	if o.concurrency < 1 || o.concurrency > broadcast.MaxConcurrency {
		return options{}, fmt.Errorf("-concurrency must be 1-%d", broadcast.MaxConcurrency)
	}
	if o.coldRuns < 1 || o.authRequests < 1 || o.repeat < 1 || o.rateMessages < 1 || o.rateLimit <= 0 ||
		o.scaleRate <= 0 || o.scaleEvents < 1 || o.scaleContainers < 1 {
		return options{}, fmt.Errorf("-cold-runs, -auth-requests, -repeat, -rate-messages, -rate-limit, -scale-rate, -scale-events and -scale-containers must be positive")
	}
	return o, nil
}

// positives parses a comma-separated list of positive numbers.
func positives(flag, list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive number", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// run performs the selected parts and writes the report.
func run(ctx context.Context, o options) error {
	start := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	rep := &report{opts: o, machine: describeMachine(ctx)}
	if o.parts["backpressure"] {
		// First, on a quiet machine: it paces requests in real time.
		bp := backpressure{messages: o.rateMessages, rate: o.rateLimit, rtt: o.rtt, timeout: functionTimeout, maxInvocations: 20}
		progress("backpressure: %d messages against a stand-in admitting %.0f requests/s", bp.messages, bp.rate)
		res, err := bp.run(ctx)
		if err != nil {
			return fmt.Errorf("backpressure: %w", err)
		}
		progress("backpressure: %v", res)
		rep.backpressure = &res
	}
	if o.parts["scale"] {
		sim := defaultSimulation(o.scaleRate)
		sim.Events, sim.Containers = o.scaleEvents, o.scaleContainers
		progress("scale: simulating a burst of %d events at R = %.0f requests/s", sim.Events, sim.Rate)
		t := time.Now()
		res := sim.run()
		rep.scale = &scaleResults{sim: sim, result: res, took: time.Since(t), variants: sim.variants()}
		progress("scale: %d requests, %d refused (%s), goodput %.3f R over %.0f s, %d lost, %d duplicated, lag p99 %.0f s (simulated in %.1f s)",
			res.Requests, res.Refused, pct(res.RefusedShare()), res.Goodput(sim.Rate), res.Span.Seconds(), res.Lost, res.Duplicated, res.LagP99.Seconds(), time.Since(t).Seconds())
		if o.plot != "" {
			img, err := burstPlot(res, sim.Rate, fmt.Sprintf("burst of %d events, R = %.0f requests/s, %d containers", sim.Events, sim.Rate, sim.Containers))
			if err != nil {
				return fmt.Errorf("scale: plot: %w", err)
			}
			path := o.plot
			if !filepath.IsAbs(path) {
				path = filepath.Join(root, path)
			}
			if err := os.WriteFile(path, img, 0o644); err != nil {
				return fmt.Errorf("scale: plot: %w", err)
			}
			progress("wrote %s", path)
		}
	}
	var env *benchEnv
	if o.parts["fanout"] || o.parts["cold"] || o.parts["auth"] {
		dir, err := os.MkdirTemp("", "herald-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if env, err = newBenchEnv(root, dir, self, o.rtt, progress); err != nil {
			return err
		}
		defer env.close()
	}
	if o.parts["fanout"] {
		if rep.fanout, err = runFanout(ctx, env, o); err != nil {
			return err
		}
	}
	if o.parts["cold"] {
		if rep.cold, err = runCold(ctx, env, o); err != nil {
			return err
		}
	}
	if o.parts["auth"] {
		if rep.auth, err = runAuth(ctx, env, o); err != nil {
			return err
		}
	}
	rep.machine.loadAfter = loadAverage()
	rep.elapsed = time.Since(start)
	text := rep.markdown()
	fmt.Print(text)
	if o.out != "" {
		path := o.out
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
		progress("wrote %s", path)
	}
	return nil
}

// runFanout measures every fan-out run. herald and the tuned Node peer run
// o.repeat times in turns on each batch size, so that a change in machine
// load affects both, and the run with the median wall time is kept (with
// the highest peak RSS of all). The idiomatic Node peer, which takes N
// round trips, runs once.
func runFanout(ctx context.Context, env *benchEnv, o options) ([]fanoutResult, error) {
	f := &fanout{env: env, concurrency: o.concurrency}
	type runner struct {
		who string
		run func(n int) (fanoutResult, error)
	}
	repeated := []runner{
		{"herald pusher", func(n int) (fanoutResult, error) { return f.herald(ctx, "pusher", n) }},
		{"herald ably", func(n int) (fanoutResult, error) { return f.herald(ctx, "ably", n) }},
		{"node tuned", func(n int) (fanoutResult, error) { return f.node(ctx, "tuned", n) }},
	}
	measure := func(r runner, n int) (fanoutResult, error) {
		res, err := r.run(n)
		if err != nil {
			return res, err
		}
		if err := res.check(); err != nil {
			return res, err
		}
		env.progress("fan-out %-15s N=%-6d wall %8.1f ms (first request after %6.1f ms, provider span %8.1f ms, %4.1f in flight on average), %5d requests, CPU %7.1f ms, peak RSS %5.1f MiB",
			res.Who, res.N, ms(res.Wall), ms(res.Lead), ms(res.Tally.Span), res.Tally.MeanInFlight, res.Tally.Requests, ms(res.CPU), float64(res.MaxRSS)/mib)
		return res, nil
	}
	var out []fanoutResult
	for _, n := range o.sizes {
		runs := make([][]fanoutResult, len(repeated))
		for range o.repeat {
			for i, r := range repeated {
				res, err := measure(r, n)
				if err != nil {
					return nil, err
				}
				runs[i] = append(runs[i], res)
			}
		}
		for _, rs := range runs {
			out = append(out, medianRun(rs))
		}
		if n > o.idiomaticMax {
			env.progress("fan-out node idiomatic    N=%d skipped (-idiomatic-max %d)", n, o.idiomaticMax)
			continue
		}
		env.progress("fan-out node idiomatic    N=%d: about %.0f s (one round trip per message)", n, (time.Duration(n) * o.rtt).Seconds())
		res, err := measure(runner{"node idiomatic", func(n int) (fanoutResult, error) { return f.node(ctx, "idiomatic", n) }}, n)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

// medianRun is the run with the median wall time, carrying the highest
// peak RSS of all runs.
func medianRun(rs []fanoutResult) fanoutResult {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b fanoutResult) int { return cmp.Compare(a.Wall, b.Wall) })
	m := sorted[(len(sorted)-1)/2]
	for _, r := range rs {
		m.MaxRSS = max(m.MaxRSS, r.MaxRSS)
	}
	m.Runs = len(rs)
	return m
}
