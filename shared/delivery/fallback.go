package delivery

import (
	"context"
	"encoding/json/v2"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// UndeliveredEvent names what a Fallback sends: the SQS message's "event"
// attribute, the EventBridge event's detail-type, the body's "event".
const UndeliveredEvent = "BroadcastUndelivered"

// UndeliveredBody is the JSON a Fallback sends for each undelivered
// envelope (the SQS body, the EventBridge detail):
//
//	{"event": "BroadcastUndelivered", "channels": ["private-App.Models.User.43"],
//	 "envelope": {"name": "EmailSent", "channels": [...], "data": {...}, "id": "...", "unoccupied": "fallback"}}
//
// A redelivered trigger may send it again: the envelope's id identifies it.
type UndeliveredBody struct {
	Event    string          `json:"event"`
	Channels []string        `json:"channels"`
	Envelope events.Envelope `json:"envelope"`
}

func undeliveredJSON(u Undelivered) (string, error) {
	b, err := json.Marshal(UndeliveredBody{Event: UndeliveredEvent, Channels: u.Channels, Envelope: u.Envelope})
	return string(b), err
}

// SQSFallback sends BroadcastUndelivered messages to an SQS queue.
type SQSFallback struct {
	API      sqsbatch.API
	QueueURL string
}

// fallbackAttempts bounds how often an entry SQS or EventBridge failed on
// its side is sent.
const fallbackAttempts = 3

// SendUndelivered implements Fallback.
func (f *SQSFallback) SendUndelivered(ctx context.Context, us []Undelivered) []error {
	msgs := make([]sqsbatch.Message, len(us))
	errs := make([]error, len(us))
	for i, u := range us {
		body, err := undeliveredJSON(u)
		if err != nil {
			errs[i] = err
			continue
		}
		msgs[i] = sqsbatch.Message{Body: body, Attributes: map[string]string{"event": UndeliveredEvent}}
	}
	for i, err := range sqsbatch.Send(ctx, f.API, f.QueueURL, msgs, fallbackAttempts) {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}

// EventBridgeAPI is the part of EventBridge BusFallback uses.
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ EventBridgeAPI = (*eventbridge.Client)(nil)

// maxPutEvents is EventBridge's limit of entries per PutEvents call.
const maxPutEvents = 10

// BusFallback puts BroadcastUndelivered events on an EventBridge bus
// (source "herald"), ten a call.
type BusFallback struct {
	API EventBridgeAPI
	// Bus is the bus's name or ARN.
	Bus string
}

// SendUndelivered implements Fallback.
func (f *BusFallback) SendUndelivered(ctx context.Context, us []Undelivered) []error {
	errs := make([]error, len(us))
	idx := make([]int, 0, len(us))
	entries := make([]ebtypes.PutEventsRequestEntry, 0, len(us))
	for i, u := range us {
		detail, err := undeliveredJSON(u)
		if err != nil {
			errs[i] = err
			continue
		}
		idx = append(idx, i)
		entries = append(entries, ebtypes.PutEventsRequestEntry{
			EventBusName: aws.String(f.Bus), Source: aws.String("herald"),
			DetailType: aws.String(UndeliveredEvent), Detail: aws.String(detail),
		})
	}
	for lo := 0; lo < len(entries); lo += maxPutEvents {
		hi := min(lo+maxPutEvents, len(entries))
		f.put(ctx, entries[lo:hi], idx[lo:hi], errs)
	}
	return errs
}

// put sends one call's entries, again for those EventBridge failed.
func (f *BusFallback) put(ctx context.Context, entries []ebtypes.PutEventsRequestEntry, idx []int, errs []error) {
	for try := 1; ; try++ {
		out, err := f.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			for _, i := range idx {
				errs[i] = fmt.Errorf("PutEvents on %s: %w", f.Bus, err)
			}
			return
		}
		var again []ebtypes.PutEventsRequestEntry
		var againIdx []int
		for n, r := range out.Entries {
			if r.ErrorCode == nil || n >= len(idx) {
				continue
			}
			errs[idx[n]] = fmt.Errorf("PutEvents on %s: %s: %s", f.Bus, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
			again, againIdx = append(again, entries[n]), append(againIdx, idx[n])
		}
		if len(again) == 0 || try == fallbackAttempts || ctx.Err() != nil {
			return
		}
		for _, i := range againIdx {
			errs[i] = nil
		}
		entries, idx = again, againIdx
	}
}

// FallbackFromEnv returns the Fallback BROADCAST_FALLBACK_URL names: an
// EventBridge bus ARN (arn:aws:events:...:event-bus/name) or an SQS queue
// URL, through a client from config.AWS; nil when it is unset.
func FallbackFromEnv(env config.Lookup) (Fallback, error) {
	dest := env.Get("BROADCAST_FALLBACK_URL")
	switch {
	case dest == "":
		return nil, nil
	case strings.HasPrefix(dest, "arn:"):
		if !strings.HasPrefix(dest, "arn:aws") || !slices.Contains(strings.Split(dest, ":"), "events") || !strings.Contains(dest, ":event-bus/") {
			return nil, fmt.Errorf("delivery: BROADCAST_FALLBACK_URL %q is an ARN but not an EventBridge bus's (arn:aws:events:<region>:<account>:event-bus/<name>)", dest)
		}
		cfg, err := config.AWS(env)
		if err != nil {
			return nil, fmt.Errorf("delivery: BROADCAST_FALLBACK_URL: %w", err)
		}
		return &BusFallback{API: eventbridge.NewFromConfig(cfg), Bus: dest}, nil
	}
	if u, err := url.Parse(dest); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("delivery: BROADCAST_FALLBACK_URL %q must be an SQS queue URL or an EventBridge bus ARN", dest)
	}
	api, err := sqsbatch.ClientFromEnv(env)
	if err != nil {
		return nil, fmt.Errorf("delivery: BROADCAST_FALLBACK_URL: %w", err)
	}
	return &SQSFallback{API: api, QueueURL: dest}, nil
}
