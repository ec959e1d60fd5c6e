// Package queue is the QueueFunction: it broadcasts the envelopes apps send
// to the broadcast SQS queue, directly or wrapped by SNS or EventBridge.
//
// All envelopes of one SQS batch go to the driver in one Broadcast call.
// The answer is a partial batch response: only messages that failed
// temporarily are reported, so SQS redelivers just those. Poison messages
// are never retried: they go to the dead-letter queue with the reason when
// one is configured (BROADCAST_DLQ_URL), or are reported as failures so the
// queue's redrive policy moves them there.
package queue
