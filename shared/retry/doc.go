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
// the same outage do not retry in step. Each retry carries only the
// messages still failing temporarily; a permanent failure (400, 404, 413,
// a refused message) is returned after its first call and never re-sent.
// Once ctx is cancelled nothing is re-sent either: the cancelled messages
// come back temporary, for the trigger to redeliver. Retrying stops after Policy.MaxAttempts calls, or when the next
// call could not end before ctx's deadline minus Policy.SafetyMargin;
// every call runs under that earlier deadline, so the invocation keeps the
// margin to report batch item failures and release idempotency claims, and
// no provider call outlives the claims (which expire at ctx's deadline).
// What still fails comes back as a *broadcast.BatchError with one entry
// per message.
//
// The functions read their policy from the environment with LoadPolicy
// (BROADCAST_RETRY_BASE, _CAP, _MAX_ATTEMPTS, _SAFETY_MARGIN; unset means
// the defaults) and stack the decorator under the idempotency check with
// delivery.Guard.
//
// What this package is not: it does not classify failures (the drivers do,
// in *broadcast.Error), remember what was sent (package idempotency does),
// or retry across invocations (the trigger's redelivery does).
package retry
