// Package broadcast sends events to browsers through one driver interface
// over hosted Pusher Channels, Ably, a log, or nothing (Laravel's pusher,
// ably, log and null broadcasters).
//
// Callers hand a driver []Message, the whole batch of an invocation at once;
// the driver plans them into the fewest provider calls the provider's limits
// allow. A provider SDK never leaks out of its driver's file: callers see
// Message, Limits and *Error, whose Temporary flag is the retry decision.
//
// The network drivers (Pusher, Ably) plan their calls in their own files and
// share the rest. The scheduler (scheduler.go) runs the calls: a call waits
// for the previous call on each of its channels so per-channel order holds,
// the next calls are encoded and signed while others are on the network, and
// after a temporary failure the later messages on the failed channels are
// held back (reported temporary, not sent) instead of overtaking the failed
// ones. The transport (transport.go) is one keep-alive HTTP client per
// driver that admits at most the configured concurrency of requests to the
// network, each timed from its admission, and paces them under the rate
// the provider app admits: the Limiter (limiter.go) learns it from 429s,
// Retry-After and latency, and fails at once, with a *Backoff giving the
// wait, what could not start before the deadline. No request outlives the
// caller's context.
//
// What this package is not: it does not decode what apps send (package
// events does), decide who may subscribe (the auth function does), or
// remember what was already sent (package idempotency does).
package broadcast
