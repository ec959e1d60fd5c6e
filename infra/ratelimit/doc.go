// Package ratelimit is a rate-limited provider stand-in: an http.Handler
// that wraps the Pusher Channels HTTP API of infra/server (or any handler
// speaking it) and refuses what a hosted plan would refuse, with 429 Too
// Many Requests and a Retry-After header, before the request reaches the
// server. The real pusher driver talks to it unchanged.
//
// Limits are token buckets: one per app (requests per second, as Pusher
// limits an app's HTTP API by plan) and one per channel (events per second,
// as Ably limits each channel to 50 messages per second). A request is
// admitted only when its app bucket and the bucket of every channel it
// names can pay; otherwise nothing is taken and it is refused whole. An
// admitted request is answered Latency after it arrived, so a loopback run
// has the round trip of a hosted API. Every accepted event is counted by
// channel, name and data, so a test or benchmark can prove that nothing
// was lost and nothing delivered twice.
//
// Bucket is exported for simulations that run the same admission rule on a
// simulated clock.
//
// What it is not: a model of a provider's quotas per day or month, or of
// its WebSocket side; requests other than trigger and batch_events (channel
// queries, Ably's REST API) pass through unlimited.
package ratelimit
