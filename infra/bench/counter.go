package main

import (
	"fmt"
	"sync"
	"time"
)

// delivery is one event for one channel, as a stand-in accepted it.
type delivery struct {
	channel, name, data string
}

// counter is what a provider stand-in saw during one run: accepted requests
// and the events they carried, refusals, and the most requests it ever held
// at once (which shows whether a client really overlapped its calls).
type counter struct {
	mu           sync.Mutex
	requests     int
	events       int
	perChannel   map[string]int
	refusals     int
	firstRefusal string
	inFlight     int
	maxInFlight  int
	first, last  time.Time     // first request began, last one ended
	busy         time.Duration // sum of request durations
}

func newCounter() counter {
	return counter{perChannel: make(map[string]int)}
}

// begin marks a request in progress; call the returned func when it ends.
func (c *counter) begin() func() {
	t0 := time.Now()
	c.mu.Lock()
	c.inFlight++
	c.maxInFlight = max(c.maxInFlight, c.inFlight)
	if c.first.IsZero() {
		c.first = t0
	}
	c.mu.Unlock()
	return func() {
		t1 := time.Now()
		c.mu.Lock()
		c.inFlight--
		c.last = t1
		c.busy += t1.Sub(t0)
		c.mu.Unlock()
	}
}

func (c *counter) accept(ds []delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	c.events += len(ds)
	for _, d := range ds {
		c.perChannel[d.channel]++
	}
}

func (c *counter) refused(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refusals == 0 {
		c.firstRefusal = msg
	}
	c.refusals++
}

// accepted is how many events arrived since the last take.
func (c *counter) accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events
}

// tally is a snapshot of a counter.
type tally struct {
	Requests     int
	Events       int
	Channels     int
	Duplicates   int // events beyond the first on a channel
	Refusals     int
	FirstRefusal string
	MaxInFlight  int
	// Span is from the first request's arrival to the last one's answer:
	// the part of a handler's wall time spent with the provider.
	Span time.Duration
	// MeanInFlight is the average number of requests open during Span.
	MeanInFlight float64
	// First is when the first request arrived.
	First time.Time
}

// take returns what was counted since the last take and starts afresh.
func (c *counter) take() tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := tally{
		Requests: c.requests, Events: c.events, Channels: len(c.perChannel),
		Refusals: c.refusals, FirstRefusal: c.firstRefusal, MaxInFlight: c.maxInFlight,
	}
	for _, n := range c.perChannel {
		t.Duplicates += n - 1
	}
	if !c.first.IsZero() && c.last.After(c.first) {
		t.Span, t.First = c.last.Sub(c.first), c.first
		t.MeanInFlight = float64(c.busy) / float64(t.Span)
	}
	c.requests, c.events, c.refusals, c.firstRefusal, c.maxInFlight = 0, 0, 0, "", c.inFlight
	c.first, c.last, c.busy = time.Time{}, time.Time{}, 0
	c.perChannel = make(map[string]int)
	return t
}

// check reports whether exactly n events on n distinct channels arrived and
// nothing was refused: the correctness condition of every fan-out run.
func (t tally) check(n int) error {
	switch {
	case t.Refusals > 0:
		return fmt.Errorf("stand-in refused %d requests, first: %s", t.Refusals, t.FirstRefusal)
	case t.Events != n || t.Channels != n || t.Duplicates != 0:
		return fmt.Errorf("stand-in counted %d events on %d channels (%d duplicates), want %d on %d",
			t.Events, t.Channels, t.Duplicates, n, n)
	}
	return nil
}
