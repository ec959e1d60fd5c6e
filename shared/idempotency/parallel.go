package idempotency

import (
	"sync"
	"sync/atomic"
)

// parallel calls fn(0) … fn(n-1) on at most limit goroutines and returns
// when all have returned. Workers take the next index as they free up, so
// one slow request does not hold back a whole wave.
func parallel(n, limit int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, max(limit, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}
