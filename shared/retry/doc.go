// Package retry re-sends the broadcasts that failed temporarily within the
// running invocation, so a provider's hiccup costs a short wait instead of a
// redelivery of the whole item minutes later. Temporary is what the driver
// said (broadcast.IsTemporary): 429, 5xx, 401 and 403, timeouts, dropped
// connections.
//
// Driver decorates any broadcast.Driver:
//
//	driver := retry.New(pusherDriver, retry.Policy{}) // defaults
//	err := driver.Broadcast(ctx, msgs)
//	for i, err := range broadcast.Failures(err, len(msgs)) { ... }
//
// Waits are exponential with full jitter, so that many invocations hit by
// the same outage do not retry in step. Every call ends Policy.SafetyMargin
// before ctx's deadline, so the invocation keeps the time to report batch
// item failures and release idempotency claims, and no provider call
// outlives the claims (which expire at ctx's deadline).
//
// The functions read their policy with LoadPolicy and stack the decorator
// under the idempotency check with delivery.Guard.
//
// What this package is not: it does not classify failures (the drivers do,
// in *broadcast.Error), remember what was sent (package idempotency does),
// or retry across invocations (the trigger's redelivery does).
package retry
