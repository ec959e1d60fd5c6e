// Package deadletter sends the trigger items herald will never be able to
// broadcast (poison: not JSON, not an envelope, an invalid channel, refused
// by the provider) to a dead-letter SQS queue, with the reason and the
// item's original identity as message attributes, so that nothing is lost
// and nothing poison is retried.
//
// It does not decide what is poison (package delivery does) and does not
// read the queue back.
package deadletter
