package retry

import (
	"cmp"
	"fmt"
	"time"

	"github.com/heraldrt/herald/shared/config"
)

// Defaults for the zero fields of Policy.
const (
	// DefaultBase is the first backoff's ceiling.
	DefaultBase = 100 * time.Millisecond
	// DefaultCap bounds every backoff.
	DefaultCap = 5 * time.Second
	// DefaultMaxAttempts is the number of calls per message, the first
	// included. Six attempts span about three seconds of backoff at the
	// defaults; a longer outage is better left to the trigger's redelivery,
	// which waits minutes rather than holding the invocation.
	DefaultMaxAttempts = 6
	// DefaultSafetyMargin is the time kept free before the invocation's
	// deadline to report failures, release idempotency claims and
	// dead-letter what must be.
	DefaultSafetyMargin = time.Second
)

// Policy says how temporary failures are retried: exponential backoff with
// full jitter (each wait is uniform in [0, min(Cap, Base·2^(n-1))] before
// the n-th retry), at most MaxAttempts calls per message, all ending
// SafetyMargin before ctx's deadline. Zero fields take the defaults above.
type Policy struct {
	Base         time.Duration
	Cap          time.Duration
	MaxAttempts  int
	SafetyMargin time.Duration
}

// Validate reports the first field that cannot work.
func (p Policy) Validate() error {
	switch {
	case p.Base < 0:
		return fmt.Errorf("retry: base backoff %v is negative", p.Base)
	case p.Cap < 0:
		return fmt.Errorf("retry: backoff cap %v is negative", p.Cap)
	case p.MaxAttempts < 0:
		return fmt.Errorf("retry: max attempts %d is negative", p.MaxAttempts)
	case p.SafetyMargin < 0:
		return fmt.Errorf("retry: safety margin %v is negative", p.SafetyMargin)
	}
	if d := p.withDefaults(); d.Cap < d.Base {
		return fmt.Errorf("retry: backoff cap %v is below the base %v", d.Cap, d.Base)
	}
	return nil
}

func (p Policy) withDefaults() Policy {
	p.Base = cmp.Or(p.Base, DefaultBase)
	p.Cap = cmp.Or(p.Cap, DefaultCap)
	p.MaxAttempts = cmp.Or(p.MaxAttempts, DefaultMaxAttempts)
	p.SafetyMargin = cmp.Or(p.SafetyMargin, DefaultSafetyMargin)
	return p
}

// ceiling is the largest wait before retry n (1 for the first retry).
func (p Policy) ceiling(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Cap; i++ {
		d *= 2
	}
	return min(d, p.Cap)
}

// LoadPolicy reads a Policy from env (config.Load's in main): the
// durations BROADCAST_RETRY_BASE, BROADCAST_RETRY_CAP and
// BROADCAST_RETRY_SAFETY_MARGIN (written as "100ms", "2s") and the count
// BROADCAST_RETRY_MAX_ATTEMPTS (1 turns retries off). Unset variables keep
// the defaults. The result is validated.
func LoadPolicy(env config.Lookup) (Policy, error) {
	var p Policy
	var err error
	for _, f := range []struct {
		name string
		to   *time.Duration
	}{
		{"BROADCAST_RETRY_BASE", &p.Base},
		{"BROADCAST_RETRY_CAP", &p.Cap},
		{"BROADCAST_RETRY_SAFETY_MARGIN", &p.SafetyMargin},
	} {
		if *f.to, err = env.Duration(f.name); err != nil {
			return Policy{}, fmt.Errorf("retry: %w", err)
		}
		if *f.to < 0 || *f.to == 0 && env.Get(f.name) != "" {
			return Policy{}, fmt.Errorf("retry: %s %q must be a positive duration such as 100ms or 2s", f.name, env.Get(f.name))
		}
	}
	if p.MaxAttempts, err = env.Count("BROADCAST_RETRY_MAX_ATTEMPTS"); err != nil {
		return Policy{}, fmt.Errorf("retry: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}
