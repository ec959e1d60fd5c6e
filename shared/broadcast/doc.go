// Package broadcast sends events to browsers through one driver interface
// over hosted Pusher Channels, Ably, a log, or nothing (Laravel's pusher,
// ably, log and null broadcasters).
//
// Callers hand a driver []Message, the whole batch of an invocation at once;
// the driver plans them into the fewest provider calls the provider's limits
// allow. A provider SDK never leaks out of its driver's file: callers see
// Message, Limits and *Error, whose Temporary flag is the retry decision.
//
// What this package is not: it does not decode what apps send (package
// events does), decide who may subscribe (the auth function does), or
// remember what was already sent (package idempotency does).
package broadcast
