package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/protocol"
)

// scaleModel is the arithmetic of one load: what a target of events per
// second with a fan-out takes from Lambda, the provider and DynamoDB. The
// figures follow from herald's planning (ten single-channel events per
// Pusher batch_events call, a hundred channels per Pusher trigger or Ably
// batch publish), the round trip, the concurrency per invocation and the
// idempotency store's requests per message; see scaleRow.
type scaleModel struct {
	EventsPerSec float64
	FanOut       int // channels per event
	BatchSize    int // SQS messages per invocation
	Concurrency  int
	RTT          time.Duration
	Limit        float64 // requests per second the provider admits for the app
}

// scaleRow is one load's requirements.
type scaleRow struct {
	PusherRequests, AblyRequests float64 // provider requests per second
	Messages                     float64 // channel messages per second (what plans count)
	Invocations                  float64 // QueueFunction invocations per second
	Concurrency                  int     // invocations in flight to send at that rate
	ReadUnits, WriteUnits        float64 // DynamoDB capacity units per second, idempotency on
	PusherMaxEvents              float64 // events per second the limit allows through Pusher
	AblyMaxEvents                float64 // ... through Ably
}

func (m scaleModel) row() scaleRow {
	var r scaleRow
	e, f := m.EventsPerSec, float64(m.FanOut)
	if m.FanOut == 1 {
		r.PusherRequests = e / protocol.MaxBatchEvents
		r.PusherMaxEvents = m.Limit * protocol.MaxBatchEvents
	} else {
		perEvent := math.Ceil(f / protocol.MaxChannelsPerTrigger)
		r.PusherRequests = e * perEvent
		r.PusherMaxEvents = m.Limit / perEvent
	}
	r.AblyRequests = math.Ceil(e * f / protocol.AblyMaxBatchChannels)
	r.AblyMaxEvents = m.Limit * protocol.AblyMaxBatchChannels / f
	r.Messages = e * f
	r.Invocations = e / float64(m.BatchSize)
	// One invocation keeps Concurrency requests in flight, each a round
	// trip long: Concurrency/RTT requests per second at most.
	perInvocation := float64(m.Concurrency) / m.RTT.Seconds()
	r.Concurrency = int(math.Ceil(min(r.PusherRequests, m.Limit) / perInvocation))
	// Per first delivery: a consistent read (BatchGetItem), the conditional
	// claim (PutItem) and the completion (BatchWriteItem), items under 1 KB.
	r.ReadUnits, r.WriteUnits = e, 2*e
	return r
}

// scaleTable renders the model for a few loads, and the simulation.
func (r *report) scaleTable(b *strings.Builder) {
	s := r.scale
	m := scaleModel{BatchSize: s.sim.BatchSize, Concurrency: s.sim.Concurrency, RTT: s.sim.RTT, Limit: s.sim.Rate}
	fmt.Fprintf(b, "\n## Scale model: what a load takes (provider limit R = %.0f requests/s per app, %v round trip, batch %d, %d requests in flight per invocation)\n\n",
		m.Limit, m.RTT, m.BatchSize, m.Concurrency)
	fmt.Fprintf(b, "| events/s | fan-out | channel messages/s | Pusher requests/s | Ably requests/s | invocations/s | concurrency to send | DynamoDB RCU/s, WCU/s (idempotency) | Pusher saturates at (events/s) | Ably saturates at (events/s) |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, load := range []struct {
		e float64
		f int
	}{{100, 1}, {1000, 1}, {10000, 1}, {100000, 1}, {10, 1000}, {100, 1000}} {
		m.EventsPerSec, m.FanOut = load.e, load.f
		row := m.row()
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %d | %s, %s | %s | %s |\n",
			num(load.e), load.f, num(row.Messages), num(row.PusherRequests), num(row.AblyRequests), num(row.Invocations),
			row.Concurrency, num(row.ReadUnits), num(row.WriteUnits), num(row.PusherMaxEvents), num(row.AblyMaxEvents))
	}
	fmt.Fprintf(b, "\nConcurrency to send is the invocations that must be in flight to keep the provider busy (requests/s x round trip / requests in flight per invocation, "+
		"at most the limit's worth): a MaximumConcurrency above it only queues more invocations behind the same limit. Beyond the saturation point the queue grows by the difference; "+
		"Ably also refuses more than 50 messages per second on any one channel, whatever the plan.\n")

	res := s.result
	sim := s.sim
	floor := time.Duration(float64(sim.Events) / (sim.Rate * protocol.MaxBatchEvents) * float64(time.Second))
	fmt.Fprintf(b, "\n## Burst: %s events through the stand-in's limit, simulated\n\n", num(float64(sim.Events)))
	fmt.Fprintf(b, "%s single-channel events queued at once; provider limit R = %.0f requests/s (token bucket of one second), %v round trip, "+
		"%d containers (MaximumConcurrency) of %d requests in flight, batch %d, timeout %v, idempotency on. "+
		"Real code: broadcast.Limiter and ratelimit.Bucket; simulated: the clock, the network, SQS, Lambda's event source, the driver's planning, the retry layer and the idempotency table (see simulate.go). "+
		"Plot: infra/bench/burst.png.\n\n",
		num(float64(sim.Events)), sim.Rate, sim.RTT, sim.Containers, sim.Concurrency, sim.BatchSize, sim.Timeout)
	fmt.Fprintf(b, "| measurement | value | target |\n|---|---|---|\n")
	fmt.Fprintf(b, "| requests | %d, %d refused | |\n", res.Requests, res.Refused)
	fmt.Fprintf(b, "| goodput (accepted requests/s over %.0f s, / R) | %.3f | %s |\n", res.Span.Seconds(), res.Goodput(sim.Rate),
		r.judge("burst: goodput / R", "at least 0.9", atLeast(res.Goodput(sim.Rate), 0.9, "")))
	fmt.Fprintf(b, "| refused share of requests | %s | %s |\n", pct(res.RefusedShare()), r.judge("burst: 429s", "at most 5%", atMost(100*res.RefusedShare(), 5, "%")))
	fmt.Fprintf(b, "| lost | %d | %s |\n", res.Lost, r.judge("burst: lost events", "0", none(res.Lost)))
	fmt.Fprintf(b, "| duplicated | %d | %s |\n", res.Duplicated, r.judge("burst: duplicated events", "0", none(res.Duplicated)))
	fmt.Fprintf(b, "| lag p50, p99, max | %.0f s, %.0f s, %.0f s | reported (draining %s events at R takes %.0f s) |\n",
		res.LagP50.Seconds(), res.LagP99.Seconds(), res.LagMax.Seconds(), num(float64(sim.Events)), floor.Seconds())
	fmt.Fprintf(b, "| invocations; messages held back for a later delivery | %d; %d | |\n", res.Invocations, res.HeldBack)
	fmt.Fprintf(b, "| DynamoDB capacity units (idempotency) | %d RCU, %d WCU | |\n", res.ReadUnits, res.WriteUnits)
	if len(s.variants) == 0 {
		return
	}
	fmt.Fprintf(b, "\nThe same burst under other conditions (no targets):\n\n| condition | goodput / R | refused | lost | duplicated | held back | lag p99 |\n|---|---|---|---|---|---|---|\n")
	for _, v := range s.variants {
		vr := v.result
		fmt.Fprintf(b, "| %s | %.3f | %s | %d | %d | %d | %.0f s |\n", v.what, vr.Goodput(v.sim.Rate), pct(vr.RefusedShare()), vr.Lost, vr.Duplicated, vr.HeldBack, vr.LagP99.Seconds())
	}
}

// scaleResults is the scale part's output.
type scaleResults struct {
	sim    simulation
	result simResult
	took   time.Duration
	// variants are the same burst under other conditions.
	variants []simVariant
}

// simVariant is one run of the sensitivity table.
type simVariant struct {
	what   string
	sim    simulation
	result simResult
}

// variants are the burst's sensitivity runs: a provider bucket that holds
// a tenth of a second, and five times the containers.
func (s simulation) variants() []simVariant {
	small := s
	small.Burst = s.Rate / 10
	many := s
	many.Containers = 5 * s.Containers
	out := []simVariant{
		{fmt.Sprintf("bucket of %.0f (a tenth of a second)", small.Burst), small, simResult{}},
		{fmt.Sprintf("%d containers", many.Containers), many, simResult{}},
	}
	for i := range out {
		out[i].result = out[i].sim.run()
	}
	return out
}

// defaultSimulation is the burst make bench simulates.
func defaultSimulation(rate float64) simulation {
	return simulation{Events: 1_000_000, Rate: rate, RTT: 20 * time.Millisecond, BatchSize: 1000, Containers: 10,
		Concurrency: broadcast.DefaultConcurrency, Timeout: functionTimeout, Visibility: 180 * time.Second, Idempotency: true, Seed: 1}
}
