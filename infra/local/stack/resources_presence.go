package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/heraldrt/herald/shared/presence"
)

// createPresence makes what presence-aware delivery needs, as
// template.yaml declares it: the presence table the WebhookFunction keeps,
// the herald event bus it forwards to, and the fallback queue with its
// dead-letter queue.
func (r *resources) createPresence(ctx context.Context, c clients) error {
	if _, err := c.ddb.CreateTable(ctx, presence.CreateInput(PresenceTable)); err != nil {
		return fmt.Errorf("creating the table %s: %w", PresenceTable, err)
	}
	if _, err := c.ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(PresenceTable),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(presence.TTLAttribute), Enabled: aws.Bool(true)},
	}); err != nil {
		return fmt.Errorf("enabling TTL on %s: %w", PresenceTable, err)
	}
	if _, err := c.events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(EventBusName)}); err != nil {
		return fmt.Errorf("creating the event bus %s: %w", EventBusName, err)
	}
	var dlqARN string
	var err error
	if r.FallbackDLQURL, dlqARN, err = createQueue(ctx, c.sqs, FallbackDLQName, map[string]string{
		"MessageRetentionPeriod": strconv.Itoa(dlqRetention),
	}); err != nil {
		return err
	}
	redrive, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqARN, "maxReceiveCount": MaxReceiveCount})
	r.FallbackURL, r.FallbackARN, err = createQueue(ctx, c.sqs, FallbackQueueName, map[string]string{
		"VisibilityTimeout":      strconv.Itoa(int(QueueVisibilityTimeout.Seconds())),
		"MessageRetentionPeriod": strconv.Itoa(queueRetention),
		"RedrivePolicy":          string(redrive),
	})
	return err
}
