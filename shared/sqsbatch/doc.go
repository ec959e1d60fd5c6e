// Package sqsbatch sends many messages to one SQS queue with as few
// SendMessageBatch calls as SQS allows (10 entries, 256 KiB per call), and
// reports per message whether it was durably queued.
//
// It is shared by the dead-letter sender and the publish function's queue
// mode, and calls SQS through the SDK's client (sqs.NewFromConfig). It does
// not receive or delete messages.
package sqsbatch
