package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config is the shape of a run.
type Config struct {
	// Requests is how many calls are made in all.
	Requests int
	// Concurrency is how many are in flight at once.
	Concurrency int
}

// Validate reports a run that cannot be made.
func (c Config) Validate() error {
	if c.Requests < 1 {
		return fmt.Errorf("load: requests %d: want at least 1", c.Requests)
	}
	if c.Concurrency < 1 {
		return fmt.Errorf("load: concurrency %d: want at least 1", c.Concurrency)
	}
	return nil
}

// Result is what a run measured.
type Result struct {
	Config
	// Errors counts calls that returned an error; First is the first.
	Errors int
	First  error
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration
	// Latencies are the successful calls' durations, sorted.
	Latencies []time.Duration
}

// Run makes cfg.Requests calls of do, cfg.Concurrency at a time, and
// measures each. do gets the call's index (0 to Requests-1). Calls not
// started when ctx ends count as errors.
func Run(ctx context.Context, cfg Config, do func(ctx context.Context, i int) error) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Config: cfg}
	lat := make([]time.Duration, cfg.Requests)
	ok := make([]bool, cfg.Requests)
	var next atomic.Int64
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Errors++
		if res.First == nil {
			res.First = err
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, cfg.Requests) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Requests {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(fmt.Errorf("request %d not made: %w", i, err))
					continue
				}
				t0 := time.Now()
				err := do(ctx, i)
				lat[i] = time.Since(t0)
				if err != nil {
					fail(fmt.Errorf("request %d: %w", i, err))
					continue
				}
				ok[i] = true
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	for i, d := range lat {
		if ok[i] {
			res.Latencies = append(res.Latencies, d)
		}
	}
	slices.Sort(res.Latencies)
	return res, nil
}

// Percentile returns the latency at or below which a share q (0 to 1) of
// the successful calls fell (nearest rank); 0 when none succeeded.
func (r Result) Percentile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	rank := int(q*float64(n)+0.999999) - 1
	return r.Latencies[max(0, min(rank, n-1))]
}

// Err is nil when every call succeeded, else an error naming how many
// failed and the first failure.
func (r Result) Err() error {
	if r.Errors == 0 {
		return nil
	}
	return errors.Join(fmt.Errorf("load: %d of %d requests failed", r.Errors, r.Requests), r.First)
}

// String is a one-line summary: count, concurrency, throughput and the
// latency percentiles.
func (r Result) String() string {
	rps := 0.0
	if r.Elapsed > 0 {
		rps = float64(r.Requests) / r.Elapsed.Seconds()
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("%d requests, %d in flight, %d errors, %.0f req/s; latency p50 %s p90 %s p99 %s max %s",
		r.Requests, r.Concurrency, r.Errors, rps,
		ms(r.Percentile(0.50)), ms(r.Percentile(0.90)), ms(r.Percentile(0.99)), ms(r.Percentile(1)))
}
