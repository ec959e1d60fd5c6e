// Package load is a small closed-loop load generator for herald's HTTP
// endpoints on loopback: a fixed number of requests at a fixed
// concurrency, each one's latency kept, errors counted, percentiles
// reported. Its tests load the local stack's auth and publish endpoints
// and churn WebSocket connections on the local Pusher-compatible server,
// checking that goroutines and heap return to their baseline afterwards.
//
// go test ./infra/load runs short versions (hundreds of requests, a few
// hundred connections); HERALD_LOAD=1 (make load) runs the long ones.
// Latencies are printed, never asserted: the machine may be shared.
//
// What it is not: an open-loop generator (it measures latency under the
// concurrency it keeps, not at a fixed arrival rate), or a benchmark of
// hosted Pusher or Ably.
package load
