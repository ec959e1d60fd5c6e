// Package delivery is the delivery path every trigger function shares: it
// turns the items of one invocation (SQS messages, stream records, an HTTP
// request) into broadcasts, decides what became of each — delivered,
// failed for now (retry it), or poison (it will never be broadcast) — and
// sends the poison ones to the dead-letter queue with the reason.
//
// Every valid message of the whole invocation goes to the driver in one
// Broadcast call, so the driver can plan them into the fewest provider
// calls; parsing and validation happen per item first, so one bad item
// fails alone. Trigger (built by FromEnv) runs the whole path; the trigger
// packages keep only decoding their event into Items and turning the
// Results into their source's answer. Guard stacks the idempotency check
// (Idempotent) over the retries within the invocation (retry.Driver).
//
// Between planning and broadcasting, Unoccupied serves the envelopes whose
// "unoccupied" is skip or fallback: it asks once per batch which of their
// channels have a subscriber (the presence table, else one channel query
// per distinct prefix through a ChannelLister), leaves the others out, and
// hands the fallback ones to a Fallback (SQS or EventBridge) as
// BroadcastUndelivered.
package delivery
