package ratelimit

import (
	"math"
	"time"
)

// Bucket is a token bucket: it holds up to Burst tokens and gains Rate
// tokens per second. The zero Bucket with a Rate of zero admits everything.
// It is not safe for concurrent use; Handler guards its buckets.
type Bucket struct {
	// Rate is the tokens gained per second; 0 means unlimited.
	Rate float64
	// Burst is the most tokens held; 0 means one second's worth (Rate,
	// at least 1).
	Burst float64

	tokens float64
	last   time.Time
	primed bool
}

// NewBucket returns a full bucket.
func NewBucket(rate, burst float64) *Bucket {
	return &Bucket{Rate: rate, Burst: burst}
}

func (b *Bucket) capacity() float64 {
	if b.Burst > 0 {
		return b.Burst
	}
	return max(b.Rate, 1)
}

// refill brings the bucket to now.
func (b *Bucket) refill(now time.Time) {
	if !b.primed {
		b.tokens, b.last, b.primed = b.capacity(), now, true
		return
	}
	if now.After(b.last) {
		b.tokens = min(b.capacity(), b.tokens+now.Sub(b.last).Seconds()*b.Rate)
		b.last = now
	}
}

// Wait is how long from now until n tokens are there; 0 when they are.
func (b *Bucket) Wait(now time.Time, n float64) time.Duration {
	if b.Rate <= 0 {
		return 0
	}
	b.refill(now)
	if b.tokens >= n {
		return 0
	}
	return time.Duration((n - b.tokens) / b.Rate * float64(time.Second))
}

// Take takes n tokens if the bucket holds them and reports whether it did.
func (b *Bucket) Take(now time.Time, n float64) bool {
	if b.Wait(now, n) > 0 {
		return false
	}
	if b.Rate > 0 {
		b.tokens -= n
	}
	return true
}

// RetryAfter is the Retry-After value, in whole seconds, for a request that
// waits w: HTTP carries seconds, and a client that waits less than w is
// refused again, so it is rounded up, and never below one.
func RetryAfter(w time.Duration) int {
	return max(1, int(math.Ceil(w.Seconds())))
}
