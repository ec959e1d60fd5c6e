package broadcast

import (
	"context"
	"strconv"
	"testing"
)

// The scheduler benchmarks run 1,000 calls of 10 messages through runCalls
// with a request that does nothing, so they measure the scheduling alone:
// the dependency graph, the workers and the bookkeeping of each call.

func BenchmarkScheduler_Unrelated(b *testing.B) {
	benchScheduler(b, func(i int) string { return "c-" + strconv.Itoa(i) })
}
func BenchmarkScheduler_OneChannel(b *testing.B) {
	benchScheduler(b, func(int) string { return "hot" })
}

func benchScheduler(b *testing.B, channelOf func(call int) string) {
	const calls, perCall = 1000, 10
	plan := make([]call, calls)
	for i := range plan {
		ch := channelOf(i)
		c := call{op: "batch_events", channels: []string{ch}}
		for j := range perCall {
			c.msgs = append(c.msgs, i*perCall+j)
			c.parts = append(c.parts, []string{ch})
		}
		plan[i] = c
	}
	noop := func(context.Context, *call) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := runCalls(context.Background(), "bench", calls*perCall, nil, plan, prepareAhead*DefaultConcurrency, noop); err != nil {
			b.Fatal(err)
		}
	}
}
