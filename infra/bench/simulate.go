package main

import (
	"container/heap"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/heraldrt/herald/infra/ratelimit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/protocol"
)

// simulation is a burst of events through the queue function against a
// rate-limited provider, on a simulated clock, so that a million events
// take seconds instead of the minutes the provider's limit implies.
//
// Real: the adaptive limiter (broadcast.Limiter: Reserve, Ready, Done, its
// Backoff and hint) and the stand-in's admission rule (ratelimit.Bucket and
// its Retry-After rounding), the same code the functions and make bench's
// backpressure part run. Simulated: the clock; the network (every request
// arrives RTT/2 after it leaves and is answered RTT/2 later); SQS (batches
// of up to BatchSize visible messages, a visibility timeout from receipt,
// ChangeMessageVisibility to the limiter's hint, rounded up to whole
// seconds, for a message it held back); Lambda's event source (Containers
// warm containers, each with its own limiter, each running one invocation
// at a time under the function's timeout); the pusher driver's planning
// (ten single-channel events per batch_events request) and transport
// (Concurrency requests in flight per invocation); the retry layer (passes
// over the failed messages, full-jitter backoff from 100 ms, six attempts,
// the last second kept free); the idempotency store (a map: a redelivered
// message already sent is not sent again; its reads and writes are counted
// as DynamoDB capacity units).
type simulation struct {
	Events      int
	Rate        float64       // requests per second the provider admits for the app
	Burst       float64       // the provider's bucket; 0 means one second's worth
	RTT         time.Duration // request to answer
	BatchSize   int           // SQS messages per invocation
	Containers  int           // the event source's MaximumConcurrency
	Concurrency int           // requests in flight per invocation (BROADCAST_CONCURRENCY)
	Timeout     time.Duration // the function's timeout
	Visibility  time.Duration // the queue's visibility timeout
	Idempotency bool
	Seed        uint64
}

// simResult is what a simulation measured.
type simResult struct {
	Requests, Refused, Accepted int
	Delivered, Lost, Duplicated int
	Invocations                 int
	HeldBack                    int // messages the limiter held back for a later delivery
	Span                        time.Duration
	LagP50, LagP99, LagMax      time.Duration
	ReadUnits, WriteUnits       int // DynamoDB capacity units of the idempotency store
	// Seconds has one entry per simulated second: accepted and refused
	// requests, and the p99 lag of the events accepted in it.
	Seconds []simSecond
}

type simSecond struct {
	Accepted, Refused int
	LagP99            time.Duration
	lags              []time.Duration
}

// Goodput is the accepted requests per second over the span, as a fraction
// of the limit.
func (r simResult) Goodput(rate float64) float64 {
	if r.Span <= 0 {
		return 0
	}
	return float64(r.Accepted) / r.Span.Seconds() / rate
}

// RefusedShare is the refused fraction of all requests.
func (r simResult) RefusedShare() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Refused) / float64(r.Requests)
}

// simMsg is one SQS message of one event.
type simMsg struct {
	id        int
	received  time.Time
	visibleAt time.Time
}

type simEvent struct {
	at  time.Time
	seq int
	fn  func(now time.Time)
}

type eventQueue []simEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// msgHeap orders invisible messages by when they become visible.
type msgHeap []*simMsg

func (h msgHeap) Len() int           { return len(h) }
func (h msgHeap) Less(i, j int) bool { return h[i].visibleAt.Before(h[j].visibleAt) }
func (h msgHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *msgHeap) Push(x any)        { *h = append(*h, x.(*simMsg)) }
func (h *msgHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	*h = old[:len(old)-1]
	return m
}

// sim is one run's state.
type sim struct {
	cfg      simulation
	start    time.Time
	events   eventQueue
	seq      int
	rng      *rand.Rand
	provider *ratelimit.Bucket
	visible  []*simMsg // FIFO of visible messages
	hidden   msgHeap
	done     []bool // the idempotency store's COMPLETED records
	accepted []int  // times the provider accepted each event
	lags     []time.Duration
	res      simResult
	first    time.Time
	last     time.Time
	left     int // events not yet accepted
}

func (s *sim) at(t time.Time, fn func(now time.Time)) {
	s.seq++
	heap.Push(&s.events, simEvent{at: t, seq: s.seq, fn: fn})
}

// run simulates until every event was accepted (and the invocations under
// way have ended) or a day of simulated time passed.
func (c simulation) run() simResult {
	s := &sim{cfg: c, start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), rng: rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)),
		provider: ratelimit.NewBucket(c.Rate, c.Burst), done: make([]bool, c.Events), accepted: make([]int, c.Events), left: c.Events}
	s.visible = make([]*simMsg, c.Events)
	for i := range s.visible {
		s.visible[i] = &simMsg{id: i}
	}
	for range c.Containers {
		ct := &container{s: s, lim: broadcast.NewLimiter(broadcast.LimiterConfig{})}
		s.at(s.start, ct.invoke)
	}
	end := s.start.Add(24 * time.Hour)
	for s.events.Len() > 0 {
		e := heap.Pop(&s.events).(simEvent)
		// After the last acceptance, run on for a timeout so that every
		// invocation ends and its writes are counted.
		if e.at.After(end) || s.left == 0 && e.at.After(s.last.Add(c.Timeout)) {
			break
		}
		e.fn(e.at)
	}
	return s.finish()
}

func (s *sim) finish() simResult {
	r := s.res
	for _, n := range s.accepted {
		if n > 0 {
			r.Delivered++
		}
		if n > 1 {
			r.Duplicated += n - 1
		}
	}
	r.Lost = s.cfg.Events - r.Delivered
	r.Span = s.last.Sub(s.first)
	slices.Sort(s.lags)
	if n := len(s.lags); n > 0 {
		r.LagP50, r.LagP99, r.LagMax = s.lags[n/2], s.lags[min(n-1, n*99/100)], s.lags[n-1]
	}
	for i := range r.Seconds {
		sec := &r.Seconds[i]
		if n := len(sec.lags); n > 0 {
			slices.Sort(sec.lags)
			sec.LagP99 = sec.lags[min(n-1, n*99/100)]
			sec.lags = nil
		}
	}
	return r
}

// second is the per-second record of time t.
func (s *sim) second(t time.Time) *simSecond {
	i := int(t.Sub(s.start) / time.Second)
	for len(s.res.Seconds) <= i {
		s.res.Seconds = append(s.res.Seconds, simSecond{})
	}
	return &s.res.Seconds[i]
}

// receive takes up to n visible messages at now.
func (s *sim) receive(now time.Time, n int) []*simMsg {
	for s.hidden.Len() > 0 && !s.hidden[0].visibleAt.After(now) {
		s.visible = append(s.visible, heap.Pop(&s.hidden).(*simMsg))
	}
	n = min(n, len(s.visible))
	out := s.visible[:n:n]
	s.visible = s.visible[n:]
	for _, m := range out {
		m.received = now
	}
	return out
}

// container is one warm Lambda container: its limiter lives as long as it.
type container struct {
	s   *sim
	lim *broadcast.Limiter
}

// invoke starts an invocation with the next batch, or polls again later.
func (ct *container) invoke(now time.Time) {
	s := ct.s
	msgs := s.receive(now, s.cfg.BatchSize)
	if len(msgs) == 0 {
		next := now.Add(time.Second) // the event source's next poll
		if s.hidden.Len() > 0 && s.hidden[0].visibleAt.After(now) && s.hidden[0].visibleAt.Before(next) {
			next = s.hidden[0].visibleAt
		}
		s.at(next, ct.invoke)
		return
	}
	s.res.Invocations++
	deadline := now.Add(s.cfg.Timeout)
	inv := &invocation{ct: ct, deadline: deadline, budget: deadline.Add(-time.Second)}
	var send []*simMsg
	for _, m := range msgs {
		if s.cfg.Idempotency {
			s.res.ReadUnits++ // the consistent BatchGetItem read
			if s.done[m.id] {
				continue // Completed: settled as delivered, not sent
			}
			s.res.WriteUnits++ // the conditional PutItem claim
		}
		send = append(send, m)
	}
	inv.pass(now, send)
}

// invocation is one invocation's sending.
type invocation struct {
	ct               *container
	deadline, budget time.Time
	calls            [][]*simMsg
	inFlight         int
	retry            []*simMsg
	attempt          int
	held             []heldMsg
	noHint           []*simMsg
}

type heldMsg struct {
	m    *simMsg
	wait time.Duration
}

// pass sends msgs as batch_events calls of ten, Concurrency at a time.
func (inv *invocation) pass(now time.Time, msgs []*simMsg) {
	inv.attempt++
	inv.calls = inv.calls[:0]
	for c := range slices.Chunk(msgs, protocol.MaxBatchEvents) {
		inv.calls = append(inv.calls, c)
	}
	inv.fill(now)
}

// fill starts calls while slots are free.
func (inv *invocation) fill(now time.Time) {
	for inv.inFlight < inv.ct.s.cfg.Concurrency && len(inv.calls) > 0 {
		c := inv.calls[0]
		inv.calls = inv.calls[1:]
		inv.inFlight++
		inv.book(now, c)
	}
	if inv.inFlight == 0 && len(inv.calls) == 0 {
		inv.endPass(now)
	}
}

// book takes the call's turn, as the transport's awaitTurn does, and
// reports whether it got one: a call held back frees its slot.
func (inv *invocation) book(now time.Time, c []*simMsg) bool {
	s := inv.ct.s
	turn, err := inv.ct.lim.Reserve(now, inv.budget)
	var b *broadcast.Backoff
	if errors.As(err, &b) {
		for _, m := range c {
			inv.held = append(inv.held, heldMsg{m, b.Wait})
		}
		s.res.HeldBack += len(c)
		inv.inFlight--
		return false
	}
	s.at(turn.At, func(now time.Time) {
		if !inv.ct.lim.Ready(now) {
			if !inv.book(now, c) {
				inv.fill(now)
			}
			return
		}
		inv.send(now, turn, c)
	})
	return true
}

// send puts one call on the simulated network.
func (inv *invocation) send(sent time.Time, turn broadcast.Turn, c []*simMsg) {
	s := inv.ct.s
	s.at(sent.Add(s.cfg.RTT/2), func(arrived time.Time) {
		s.res.Requests++
		if s.first.IsZero() {
			s.first = arrived
		}
		wait := s.provider.Wait(arrived, 1)
		status, retryAfter := http.StatusOK, time.Duration(0)
		if wait > 0 {
			status, retryAfter = http.StatusTooManyRequests, time.Duration(ratelimit.RetryAfter(wait))*time.Second
			s.res.Refused++
			s.second(arrived).Refused++
		} else {
			s.provider.Take(arrived, 1)
			s.res.Accepted++
			s.last = arrived
			sec := s.second(arrived)
			sec.Accepted++
			for _, m := range c {
				s.accepted[m.id]++
				if s.accepted[m.id] == 1 {
					s.left--
					lag := arrived.Sub(s.start)
					s.lags = append(s.lags, lag)
					sec.lags = append(sec.lags, lag)
				}
			}
		}
		s.at(arrived.Add(s.cfg.RTT/2), func(now time.Time) {
			inv.ct.lim.Done(turn, sent, now, status, retryAfter)
			if status == http.StatusOK {
				if s.cfg.Idempotency {
					s.res.WriteUnits += len(c) // Complete's BatchWriteItem
					for _, m := range c {
						s.done[m.id] = true
					}
				}
			} else {
				inv.retry = append(inv.retry, c...)
			}
			inv.inFlight--
			inv.fill(now)
		})
	})
}

// endPass retries what was refused, as the retry layer does, or ends the
// invocation.
func (inv *invocation) endPass(now time.Time) {
	s := inv.ct.s
	if len(inv.retry) > 0 {
		msgs := inv.retry
		inv.retry = nil
		ceiling := min(5*time.Second, 100*time.Millisecond<<(inv.attempt-1))
		pause := time.Duration(s.rng.Int64N(int64(ceiling) + 1))
		if inv.attempt < 6 && now.Add(pause).Before(inv.budget) {
			s.at(now.Add(pause), func(now time.Time) { inv.pass(now, msgs) })
			return
		}
		inv.noHint = append(inv.noHint, msgs...)
	}
	inv.end(now)
}

// end reports the failures: held-back messages come back after their
// hint (ChangeMessageVisibility), the others after the visibility timeout.
func (inv *invocation) end(now time.Time) {
	s := inv.ct.s
	for _, h := range inv.held {
		h.m.visibleAt = now.Add(time.Duration(math.Ceil(h.wait.Seconds())) * time.Second)
		heap.Push(&s.hidden, h.m)
	}
	for _, m := range inv.noHint {
		m.visibleAt = m.received.Add(s.cfg.Visibility)
		heap.Push(&s.hidden, m)
	}
	if s.cfg.Idempotency {
		s.res.WriteUnits += len(inv.held) + len(inv.noHint) // Release's DeleteItem
	}
	s.at(now, inv.ct.invoke)
}
