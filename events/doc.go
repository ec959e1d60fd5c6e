// Package events defines what flows into herald: the envelope an app puts on
// SQS, writes as an outbox row or sends over HTTP, in its three forms
// (single, batch, notification), its JSON Schema (envelope.schema.json), and
// the sample Lambda trigger events under samples/ that both the tests and
// `sam local invoke -e` use.
//
// Field names follow Pusher's HTTP API (name, channels, data, socket_id) so a
// developer who knows Pusher knows the envelope. Decode turns bytes into
// envelopes; Validate checks one against a driver's limits; Message turns it
// into what a broadcast driver sends. Every error wraps ErrInvalid and names
// the field at fault: invalid input is never worth retrying.
package events
