package webhook

import (
	"context"
	"encoding/json/v2"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/heraldrt/herald/shared/presence"
)

// EventSource is the source of every event herald puts on its bus.
const EventSource = "herald"

// DetailTypePrefix prefixes the webhook event's name in detail-type:
// herald.member_added, herald.channel_vacated, ...
const DetailTypePrefix = "herald."

// maxPutEntries is EventBridge's limit of entries per PutEvents call.
const maxPutEntries = 10

// Detail is the detail of an event on the bus.
type Detail struct {
	Channel  string `json:"channel"`
	UserID   string `json:"user_id,omitempty"`
	TimeMS   int64  `json:"time_ms"`
	Provider string `json:"provider"`
	// A client event's name, data and sender.
	Event    string `json:"event,omitempty"`
	Data     string `json:"data,omitempty"`
	SocketID string `json:"socket_id,omitempty"`
	// SubscriptionCount is a subscription_count event's count.
	SubscriptionCount int `json:"subscription_count,omitempty"`
}

// forward puts evs on bus, at most ten entries a call. An entry
// EventBridge refused fails the request, so the provider retries it.
func forward(ctx context.Context, bus Bus, busName, provider string, evs []presence.Event) error {
	entries := make([]types.PutEventsRequestEntry, 0, len(evs))
	for _, e := range evs {
		detail, err := json.Marshal(Detail{
			Channel: e.Channel, UserID: e.UserID, TimeMS: e.Time.UnixMilli(), Provider: provider,
			Event: e.Event, Data: e.Data, SocketID: e.SocketID, SubscriptionCount: e.SubscriptionCount,
		})
		if err != nil {
			return fmt.Errorf("webhook: encoding %s: %w", e.Name, err)
		}
		entries = append(entries, types.PutEventsRequestEntry{
			EventBusName: aws.String(busName),
			Source:       aws.String(EventSource),
			DetailType:   aws.String(DetailTypePrefix + e.Name),
			Detail:       aws.String(string(detail)),
			Time:         aws.Time(e.Time),
		})
	}
	for chunk := range slices.Chunk(entries, maxPutEntries) {
		out, err := bus.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: chunk})
		if err != nil {
			return fmt.Errorf("webhook: putting events on %s: %w", busName, err)
		}
		if out.FailedEntryCount > 0 {
			for _, r := range out.Entries {
				if r.ErrorCode != nil {
					return fmt.Errorf("webhook: %s refused %d of %d events: %s: %s", busName, out.FailedEntryCount, len(chunk), aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
				}
			}
			return fmt.Errorf("webhook: %s refused %d of %d events", busName, out.FailedEntryCount, len(chunk))
		}
	}
	return nil
}
