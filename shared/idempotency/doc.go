// Package idempotency makes herald's at-least-once triggers broadcast each
// event once: a DynamoDB table remembers which keys are being broadcast and
// which were, in the manner of AWS Lambda Powertools' idempotency utility.
//
// A key is the envelope's id when it has one, else the trigger's identity
// (an SQS messageId, a stream record's eventID); the caller chooses it.
// Per item, callers do:
//
//	statuses, err := store.Claim(ctx, keys) // err only summarises; act on statuses
//	// Claimed     -> broadcast it
//	// Completed   -> skip it, report success
//	// InProgress  -> skip it, report a batch item failure (retried later)
//	// Unavailable -> skip it, report a batch item failure (retried later)
//	store.Complete(ctx, sent)     // the claimed keys that were broadcast
//	store.Release(ctx, failed)    // the claimed keys whose broadcast failed
//
// A store is built once per process, on the SDK's DynamoDB client:
//
//	store, err := idempotency.New(cfg, dynamodb.NewFromConfig(awsCfg))
//
// A consumer declares the interface it needs beside its handler:
//
//	type Idempotency interface {
//		Claim(ctx context.Context, keys []string) ([]idempotency.Status, error)
//		Complete(ctx context.Context, keys []string) error
//		Release(ctx context.Context, keys []string) error
//	}
//
// # Records
//
// One item per key: id (the partition key, a string: the key, prefixed by
// the namespace and "#" when one is set, its SHA-256 when longer than 1 KB),
// status (INPROGRESS or COMPLETED), expiration (epoch seconds; the table's
// TimeToLiveSpecification names it), in_progress_expiration (epoch
// milliseconds, the claiming invocation's deadline) and owner (a random
// token per Store).
//
// Claim is a conditional PutItem per key that succeeds when no record
// exists, when its expiration passed, or when it is INPROGRESS and its
// in_progress_expiration passed. Expiry is judged by the condition, not by
// DynamoDB's TTL: TTL deletion lags by up to days (and moto, used in
// tests, never deletes), so it only keeps the table small. A refused write
// is classified by the record it met (returned with the refusal, as
// ReturnValuesOnConditionCheckFailure ALL_OLD asks; read with a consistent
// GetItem where it is not). Unless Config.NoPrefetch is set, keys are
// first read with a consistent BatchGetItem and only those it leaves
// undecided are written. Complete overwrites records as COMPLETED with
// BatchWriteItem. Release is a DeleteItem conditional on owner and
// INPROGRESS. Requests run in parallel, at most Config.Concurrency at once.
//
// # Guarantees
//
// With a table configured, and every caller following the protocol above:
//
//   - At most one caller holds a key at a time: the conditional write is
//     atomic, so of any number of concurrent claimers exactly one gets
//     Claimed; the others get InProgress.
//   - A key is never reported Claimed unless this call's write succeeded.
//     A DynamoDB failure, throttling beyond the SDK client's retries, or
//     the end of ctx leaves the key Unavailable: not broadcast, retried
//     later. No broadcast ever happens without a claim.
//   - A Completed key is not broadcast again until its TTL (Config.TTL,
//     default one hour) passes; after that it is a new key.
//   - A claim lasts until the claiming invocation's deadline (ctx's, else
//     Config.MaxInProgress). If the holder dies without completing or
//     releasing, the key is claimable once that deadline passed, so it is
//     delayed, never lost.
//   - Release deletes only this Store's own in-progress claims: never a
//     completed record, never another holder's claim.
//
// Where exactly-once degrades to at-least-once, and why:
//
//   - Complete fails after a successful broadcast (DynamoDB unreachable at
//     that moment): the key stays INPROGRESS until its claim expires; a
//     redelivery after that broadcasts again. Complete's error names it.
//   - A broadcast outlives its claim (the provider accepted the event after
//     the invocation's deadline passed and another invocation claimed the
//     key): both broadcast. herald's retry decorator stops before the
//     deadline to keep this window closed.
//   - A provider call fails ambiguously (a timeout or dropped connection
//     after the provider accepted the events): the broadcast counts as
//     failed, the key is released, and the retry sends it again. Pusher
//     has no idempotency key to close this; Ably drops a repeated message
//     id within two minutes.
//   - Expiry compares clocks of different hosts; skew of the order of
//     milliseconds shifts when an abandoned claim is reclaimable.
//   - The TTL passed before a redelivery arrived.
//
// # Failures
//
// A call that could not handle some keys returns an *Error, classified
// once: temporary exactly when the SDK's standard retryer would try the
// failed request again (throttling, 5xx answers, timeouts, refused or
// reset connections), also after the client's attempts ran out;
// permanent otherwise (a missing table, denied access, an invalid
// request). The end of ctx's deadline is temporary, a cancellation
// permanent. The verdict is for logs and alarms: a key Claim left
// Unavailable is never broadcast, whatever it says.
//
// When IDEMPOTENCY_TABLE is unset the store is off: New returns a nil
// *Store, whose Claim reports every key Claimed (repeats included) and
// whose Complete and Release do nothing. Delivery is then at-least-once.
//
// What this package is not: it does not pick keys, broadcast, or decide
// which failures are worth retrying (package broadcast's errors do). It
// stores no response: a broadcast has none worth replaying.
package idempotency
