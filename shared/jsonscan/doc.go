// Package jsonscan reads JSON in one pass, without reflection, on the paths
// every queued message takes: the SQS event around a batch and the envelope
// in each message body. A Reader answers "is the next thing this?" and
// returns false at anything it does not expect, so that its caller can hand
// the whole input to encoding/json, which then gives the answer and, for a
// bad input, the precise error. Tests hold each use to encoding/json's
// result on every input the Reader accepts.
package jsonscan
