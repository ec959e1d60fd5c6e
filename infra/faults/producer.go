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
// (visible or in flight): when what it sent may have filled the window, it
// waits for the queue to drain. moto's ReceiveMessage scans the whole queue
// for every message it returns, so a receive from a queue 10,000 deep takes
// seconds there; SQS itself does not slow down with depth, and the consumer
// cannot tell a paced producer from a preloaded queue. window below 10
// means no bound.
func Produce(ctx context.Context, c *sqs.Client, url string, bodies []string, window int) error {
	room := 0 // messages that surely fit: only consumers change the depth, and they lower it
	for lo := 0; lo < len(bodies); lo += 10 {
		chunk := bodies[lo:min(lo+10, len(bodies))]
		if window >= 10 && room < len(chunk) {
			d, err := waitBelow(ctx, c, url, window-len(chunk))
			if err != nil {
				return err
			}
			room = window - d
		}
		room -= len(chunk)
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

// waitBelow returns the queue's depth once it is at most n.
func waitBelow(ctx context.Context, c *sqs.Client, url string, n int) (int, error) {
	for {
		d, err := QueueDepth(ctx, c, url)
		if err != nil || d <= n {
			return d, err
		}
		// Each look costs moto a scan of the queue: not too often.
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
