// Package sqs is an in-memory Amazon SQS that speaks the JSON protocol
// (awsJson1_0) exactly as aws-sdk-go-v2 sends it, so tests and the local
// stack can point a real SQS client at it with BaseEndpoint and static
// credentials.
//
// It implements the operations herald uses: CreateQueue, GetQueueUrl,
// GetQueueAttributes, SendMessage, SendMessageBatch, ReceiveMessage (with
// visibility timeouts, receive counts, long polling and a redrive policy),
// ChangeMessageVisibility, DeleteMessage and DeleteMessageBatch. Responses carry MD5OfMessageBody and
// MD5OfMessageAttributes computed as SQS computes them. Queues stay
// inspectable from Go (Messages, Queue) without consuming anything.
//
// It is not a full SQS: no FIFO semantics, no message timers beyond
// DelaySeconds, no permissions or tags, no request signing checks.
package sqs
