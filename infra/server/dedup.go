package server

import (
	"sync"
	"time"
)

// dedup remembers message ids per channel for a window, so a publish
// repeated with the same id is accepted but delivered once, as Ably's
// idempotent publishing does.
type dedup struct {
	window time.Duration

	mu    sync.Mutex
	seen  map[dedupKey]time.Time
	order []dedupEntry // oldest first, for expiry without scanning the map
}

type dedupKey struct{ channel, id string }

type dedupEntry struct {
	key dedupKey
	at  time.Time
}

func newDedup(window time.Duration) *dedup {
	return &dedup{window: window, seen: map[dedupKey]time.Time{}}
}

// first reports whether id was not seen on channel within the window, and
// remembers it.
func (d *dedup) first(channel, id string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.order) > 0 && now.Sub(d.order[0].at) >= d.window {
		e := d.order[0]
		if d.seen[e.key] == e.at {
			delete(d.seen, e.key)
		}
		d.order = d.order[1:]
	}
	k := dedupKey{channel, id}
	if at, ok := d.seen[k]; ok && now.Sub(at) < d.window {
		return false
	}
	d.seen[k] = now
	d.order = append(d.order, dedupEntry{k, now})
	return true
}
