package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Produce sends bodies to a queue in order, 10 to a SendMessageBatch call,
// as a steady producer would, keeping at most window messages on the queue
// (visible or in flight): it waits for the queue to drain below that before
// each call. moto's ReceiveMessage scans the whole queue for every message
// it returns, so a receive from a queue 10,000 deep takes seconds there;
// SQS itself does not slow down with depth, and the consumer cannot tell a
// paced producer from a preloaded queue. window below 10 means no bound.
func Produce(ctx context.Context, c *sqs.Client, url string, bodies []string, window int) error {
	for lo := 0; lo < len(bodies); lo += 10 {
		chunk := bodies[lo:min(lo+10, len(bodies))]
		if window >= 10 {
			if err := waitBelow(ctx, c, url, window-len(chunk)); err != nil {
				return err
			}
		}
		entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
		for i, b := range chunk {
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(b)}
		}
		out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			return fmt.Errorf("faults: sending messages %d to %d: %w", lo, lo+len(chunk)-1, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("faults: sending messages %d to %d: %d refused, first %s: %s", lo, lo+len(chunk)-1, len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}

// waitBelow returns once the queue holds at most n messages.
func waitBelow(ctx context.Context, c *sqs.Client, url string, n int) error {
	for {
		d, err := QueueDepth(ctx, c, url)
		if err != nil || d <= n {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
