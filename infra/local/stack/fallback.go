package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// maxFallbacks is how many fallbacks the page keeps showing.
const maxFallbacks = 50

// Fallback is one BroadcastUndelivered message taken from the fallback
// queue: what the app would email or push instead.
type Fallback struct {
	ReceivedAt time.Time       `json:"received_at"`
	MessageID  string          `json:"message_id"`
	Body       json.RawMessage `json:"body"`
}

// fallbacks plays the app's consumer of the fallback queue: each read
// takes what the queue holds through moto's SQS API (receive, then
// delete) and keeps the latest maxFallbacks to show.
type fallbacks struct {
	mu   sync.Mutex
	seen []Fallback
}

// Fallbacks takes what arrived in the fallback queue since the last call
// and returns every fallback kept, newest first.
func (s *Stack) Fallbacks(ctx context.Context) ([]Fallback, error) {
	s.fallback.mu.Lock()
	defer s.fallback.mu.Unlock()
	for {
		out, err := s.aws.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.res.FallbackURL), MaxNumberOfMessages: 10, VisibilityTimeout: 30,
		})
		if err != nil {
			return nil, fmt.Errorf("ReceiveMessage on %s: %w", FallbackQueueName, err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			body := json.RawMessage(aws.ToString(m.Body))
			if !json.Valid(body) {
				b, _ := json.Marshal(aws.ToString(m.Body))
				body = b
			}
			s.fallback.seen = append([]Fallback{{ReceivedAt: time.Now().UTC(), MessageID: aws.ToString(m.MessageId), Body: body}}, s.fallback.seen...)
			if _, err := s.aws.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.res.FallbackURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, fmt.Errorf("DeleteMessage on %s: %w", FallbackQueueName, err)
			}
		}
	}
	if len(s.fallback.seen) > maxFallbacks {
		s.fallback.seen = s.fallback.seen[:maxFallbacks]
	}
	return append([]Fallback(nil), s.fallback.seen...), nil
}

// devFallback serves the Fallback panel.
func (s *Stack) devFallback(w http.ResponseWriter, r *http.Request) {
	list, err := s.Fallbacks(r.Context())
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"queue": FallbackQueueName, "url": s.res.FallbackURL, "messages": list})
}
