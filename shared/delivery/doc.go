// Package delivery turns the items of one trigger invocation (SQS
// messages, stream records, an HTTP request) into broadcasts and tells each
// item what became of it: delivered, failed for now (retry it), or poison
// (it will never be broadcast; dead-letter it with the reason).
//
// Every valid message of the whole invocation goes to the driver in one
// Broadcast call, so the driver can plan them into the fewest provider
// calls. Parsing and validation happen per item first, against the
// driver's Limits, so one bad item fails alone.
//
// The package decides outcomes; it does not acknowledge, retry, or
// dead-letter anything itself — the trigger functions do, each in its
// source's terms. Its two steps, Plan and (*Batch).Settle, are the seam
// where deduplication of already-broadcast messages fits: Idempotent is a
// driver decorator that claims each message's id in an idempotency store
// before sending it, so a redelivered item settles as Delivered without a
// second broadcast. Guard (and GuardFromEnv, for the functions' entry
// points) stacks it over a retry.Driver: the provider driver retried
// within the invocation, each id claimed once around all its retries.
package delivery
