package deadletter

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/heraldrt/herald/shared/sqsbatch"
)

// Message attribute names every dead letter carries.
const (
	AttrReason   = "reason"
	AttrSourceID = "source_id"
	AttrSource   = "source"
)

// maxReason keeps the reason attribute readable and well under SQS limits.
const maxReason = 1024

// attempts bounds how often an entry SQS failed on its side is sent.
const attempts = 3

// Letter is one poison item.
type Letter struct {
	// Body is the item as it arrived (an SQS body, a stream record as JSON).
	Body string
	// Reason says exactly why it cannot be broadcast.
	Reason string
	// SourceID is the item's identity at its source: an SQS messageId, a
	// stream record's eventID.
	SourceID string
	// Source names the trigger: "queue", "stream:Users".
	Source string
}

// Config configures a Sender.
type Config struct {
	// QueueURL is the dead-letter queue (BROADCAST_DLQ_URL).
	QueueURL string
}

// Validate reports a missing queue URL.
func (c Config) Validate() error {
	if c.QueueURL == "" {
		return errors.New("deadletter: QueueURL is required")
	}
	return nil
}

// Sender sends letters to the dead-letter queue.
type Sender struct {
	api sqsbatch.API
	cfg Config
}

// New returns a Sender over an SQS client.
func New(api sqsbatch.API, cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sender{api: api, cfg: cfg}, nil
}

// Send queues the letters and returns one error per letter, nil for each
// one durably queued. A letter whose body is too large for SQS is cut to
// fit, with the reason saying so: the reason and identity matter more than
// the tail of a body that could never be broadcast anyway.
func (s *Sender) Send(ctx context.Context, letters []Letter) []error {
	msgs := make([]sqsbatch.Message, len(letters))
	for i, l := range letters {
		msgs[i] = message(l)
	}
	errs := sqsbatch.Send(ctx, s.api, s.cfg.QueueURL, msgs, attempts)
	for i, err := range errs {
		if err != nil {
			errs[i] = fmt.Errorf("deadletter: %s %s to BROADCAST_DLQ_URL's queue: %w", letters[i].Source, letters[i].SourceID, err)
		}
	}
	return errs
}

func message(l Letter) sqsbatch.Message {
	reason := truncate(l.Reason, maxReason)
	m := sqsbatch.Message{Body: l.Body, Attributes: map[string]string{
		AttrReason:   reason,
		AttrSourceID: l.SourceID,
		AttrSource:   l.Source,
	}}
	if m.Body == "" {
		// SQS refuses empty bodies; the attributes still say what happened.
		m.Body = "(empty)"
	}
	if over := m.Size() - sqsbatch.MaxBytes; over > 0 {
		note := fmt.Sprintf(" (body truncated from %d bytes)", len(l.Body))
		m.Attributes[AttrReason] = reason + note
		m.Body = truncate(m.Body, len(m.Body)-over-len(note))
	}
	return m
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
