// Package jsontext reads and writes JSON text in one pass, without
// reflection, on the paths every queued message and every auth request
// takes: the SQS event around a batch, the envelope in each message body,
// a token's claims, the auth answers and the size of each Ably request.
//
// A Reader answers "is the next thing this?" and returns false at anything
// it does not expect, so that its caller can hand the whole input to
// encoding/json, which then gives the answer and, for a bad input, the
// precise error. AppendString and StringLen write strings byte for byte as
// encoding/json does. Tests and fuzz targets hold every function here to
// encoding/json's result.
package jsontext
