package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
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
	coldRuns        int
	coldOnly        map[string]bool // empty: every function
	authRequests    int
	authConcurrency []int
	parts           map[string]bool
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
	idiomaticMax := fs.Int("idiomatic-max", 10000, "largest batch the sequential Node peer is run on (it takes N x rtt)")
	coldRuns := fs.Int("cold-runs", 15, "cold starts per binary (the median is reported)")
	coldOnly := fs.String("cold-only", "", "comma-separated functions to cold-start besides hello (queue,stream,publish,auth); empty for all")
	authRequests := fs.Int("auth-requests", 10000, "auth requests per server and channel kind")
	authConc := fs.String("auth-concurrency", "1,8", "auth requests in flight: one run per value")
	parts := fs.String("parts", "fanout,cold,auth", "parts to run: fanout (with the Node peers and peak RSS), cold, auth")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up after this long")
	out := fs.String("out", "infra/bench/results.md", "results file, relative to the repository root; empty for none")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{concurrency: *conc, rtt: *rtt, idiomaticMax: *idiomaticMax, coldRuns: *coldRuns,
		authRequests: *authRequests, out: *out, timeout: *timeout, parts: map[string]bool{}}
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
		case "fanout", "cold", "auth":
			o.parts[p] = true
		default:
			return options{}, fmt.Errorf("-parts: unknown part %q", p)
		}
	}
	if o.concurrency < 1 || o.concurrency > broadcast.MaxConcurrency {
		return options{}, fmt.Errorf("-concurrency must be 1-%d", broadcast.MaxConcurrency)
	}
	if o.coldRuns < 1 || o.authRequests < 1 {
		return options{}, fmt.Errorf("-cold-runs and -auth-requests must be positive")
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
	dir, err := os.MkdirTemp("", "herald-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env, err := newBenchEnv(root, dir, self, o.rtt, progress)
	if err != nil {
		return err
	}
	defer env.close()

	rep := &report{opts: o, machine: describeMachine(ctx)}
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

// runFanout measures every fan-out run. The Node peers and herald take
// turns on each batch size so that a change in machine load affects both.
func runFanout(ctx context.Context, env *benchEnv, o options) ([]fanoutResult, error) {
	f := &fanout{env: env, concurrency: o.concurrency}
	var out []fanoutResult
	add := func(r fanoutResult, err error) error {
		if err != nil {
			return err
		}
		if err := r.check(); err != nil {
			return err
		}
		env.progress("fan-out %-15s N=%-6d wall %8.1f ms (first request after %6.1f ms, provider span %8.1f ms, %4.1f in flight on average), %5d requests, CPU %7.1f ms, peak RSS %5.1f MiB",
			r.Who, r.N, ms(r.Wall), ms(r.Lead), ms(r.Tally.Span), r.Tally.MeanInFlight, r.Tally.Requests, ms(r.CPU), float64(r.MaxRSS)/mib)
		out = append(out, r)
		return nil
	}
	for _, n := range o.sizes {
		for _, d := range []string{"pusher", "ably"} {
			if err := add(f.herald(ctx, d, n)); err != nil {
				return nil, err
			}
		}
		if err := add(f.node(ctx, "tuned", n)); err != nil {
			return nil, err
		}
		if n > o.idiomaticMax {
			env.progress("fan-out node idiomatic    N=%d skipped (-idiomatic-max %d)", n, o.idiomaticMax)
			continue
		}
		env.progress("fan-out node idiomatic    N=%d: about %.0f s (one round trip per message)", n, (time.Duration(n) * o.rtt).Seconds())
		if err := add(f.node(ctx, "idiomatic", n)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
