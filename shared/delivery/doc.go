// Package delivery is the delivery path every trigger function shares: it
// turns the items of one invocation (SQS messages, stream records, an HTTP
// request) into broadcasts, decides what became of each — delivered,
// failed for now (retry it), or poison (it will never be broadcast) — and
// sends the poison ones to the dead-letter queue with the reason.
//
// Every valid message of the whole invocation goes to the driver in one
// Broadcast call, so the driver can plan them into the fewest provider
// calls. Parsing and validation happen per item first, against the
// driver's Limits, so one bad item fails alone. Whether a failure is
// temporary is the driver's answer (broadcast.IsTemporary), read here and
// decided nowhere else.
//
// Trigger (built by FromEnv) runs the whole path; the trigger packages keep
// only what is theirs: decoding their event into Items and turning the
// Results into their source's answer (a partial batch response, an HTTP
// status). Its two steps, Plan and (*Batch).Settle, are the seam where
// deduplication of already-broadcast messages fits: Idempotent is a driver
// decorator that claims each message's id in an idempotency store before
// sending it, so a redelivered item settles as Delivered without a second
// broadcast. Guard (and GuardFromEnv, for the functions' entry points)
// stacks it over a retry.Driver: the provider driver retried within the
// invocation, each id claimed once around all its retries.
package delivery
