// Package idempotency makes herald's at-least-once triggers broadcast each
// event once: a DynamoDB table remembers which keys are being broadcast and
// which were, in the manner of AWS Lambda Powertools' idempotency utility.
// The guarantees it gives, and where exactly-once degrades to
// at-least-once, are README's "Guarantees".
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
// # Records
//
// One item per key: id (the partition key, a string: the key, prefixed by
// the namespace and "#" when one is set, its SHA-256 when longer than 1 KB),
// status (INPROGRESS or COMPLETED), expiration (epoch seconds; the table's
// TimeToLiveSpecification names it), in_progress_expiration (epoch
// milliseconds, the claiming invocation's deadline) and owner (a random
// token per Store).
//
// Claim is a conditional PutItem per key; the condition, not DynamoDB's
// TTL, judges expiry, since TTL deletion lags by up to days (and moto, used
// in tests, never deletes). Unless Config.NoPrefetch is set, keys are first
// read with a consistent BatchGetItem and only those it leaves undecided
// are written. Complete overwrites records as COMPLETED with
// BatchWriteItem. Release is a DeleteItem conditional on owner and
// INPROGRESS. Requests run in parallel, at most Config.Concurrency at once.
//
// A call that could not handle some keys returns an *Error, classified
// once as temporary or permanent (see Error.Temporary). When
// IDEMPOTENCY_TABLE is unset the store is off: New returns a nil *Store,
// whose Claim reports every key Claimed (repeats included) and whose
// Complete and Release do nothing. Delivery is then at-least-once.
//
// What this package is not: it does not pick keys, broadcast, or decide
// which failures are worth retrying (package broadcast's errors do). It
// stores no response: a broadcast has none worth replaying.
package idempotency
