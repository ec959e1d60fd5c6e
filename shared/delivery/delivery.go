package delivery

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/broadcast"
)

// Item is one unit the trigger source retries or acknowledges as a whole.
// Give exactly one of Body, Envelopes or Err; an item with none of them has
// nothing to broadcast and is delivered.
type Item struct {
	// Source names the trigger in dead letters: "queue", "stream:Users".
	Source string
	// Raw is the item as it arrived (an SQS body before unwrapping, a
	// stream record), the body of its dead letter.
	Raw string
	// ID identifies the item to its source: an SQS messageId, a stream
	// record's SequenceNumber. It is what the source is told about failures.
	ID string
	// MessageID is the broadcast message id used when an envelope has no id
	// of its own (the idempotency key); default ID. A stream record uses its
	// eventID here.
	MessageID string
	// Body is a raw trigger body: an envelope, a batch or a notification.
	Body []byte
	// Envelopes are already decoded envelopes (built by the trigger, as the
	// stream function's model mode does); they are still validated.
	Envelopes []events.Envelope
	// Err marks the item as poison before delivery (it could not even be
	// unwrapped); its message is the reason.
	Err error
	// Sent is the source's own timestamp of the item (SQS SentTimestamp,
	// the stream record's ApproximateCreationDateTime), from which the
	// Lag metric is measured; zero records none.
	Sent time.Time
}

// Status is what became of an item.
type Status int

const (
	// Delivered: every message of the item was accepted by the provider (or
	// it had none).
	Delivered Status = iota
	// Retry: at least one message failed temporarily; the source should
	// deliver the item again.
	Retry
	// Poison: the item can never be broadcast as it is.
	Poison
)

func (s Status) String() string {
	switch s {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Poison:
		return "poison"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Outcome is what became of one item.
type Outcome struct {
	Status Status
	// Reason says exactly why the item is poison or must be retried; empty
	// when delivered.
	Reason string
	// Err is the underlying error, for errors.Is/As.
	Err error
	// Messages is how many messages the item contributed to the broadcast.
	Messages int
}

// Batch is an invocation's items, parsed and validated, ready to broadcast.
type Batch struct {
	// Messages are the valid messages of all items, in item order.
	Messages []broadcast.Message
	// Owner[i] is the index of the item Messages[i] came from.
	Owner []int
	// Envelopes[i] is the envelope Messages[i] was made from.
	Envelopes []*events.Envelope
	// Outcomes so far: poison for items that failed parsing or validation.
	Outcomes []Outcome
}

// Plan parses and validates every item against lim and collects their
// messages. Items that fail are poison with the exact reason; their
// messages are left out, so they never reach the provider.
//
// Parsing is the CPU work before the first provider request; a large batch
// is parsed on every CPU the function has (Lambda gives more than one from
// 1,769 MB of memory up). The messages are then built straight into the
// batch: what a fresh process allocates before its first request it also
// pays for in page faults and collections.
func Plan(items []Item, lim broadcast.Limits) *Batch {
	envs := make([][]events.Envelope, len(items))
	errs := make([]error, len(items))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(items)/parallelItems))
	per := (len(items) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(items); lo += per {
		wg.Go(func() {
			for i := lo; i < min(lo+per, len(items)); i++ {
				envs[i], errs[i] = envelopes(items[i], lim)
			}
		})
	}
	wg.Wait()

	n := 0
	for i := range envs {
		n += len(envs[i])
	}
	b := &Batch{Outcomes: make([]Outcome, len(items)), Messages: make([]broadcast.Message, 0, n), Owner: make([]int, 0, n),
		Envelopes: make([]*events.Envelope, 0, n)}
	for i, it := range items {
		if err := errs[i]; err != nil {
			b.Outcomes[i] = Outcome{Status: Poison, Reason: reason(err), Err: err}
			continue
		}
		if err := b.add(i, cmp.Or(it.MessageID, it.ID), envs[i]); err != nil {
			b.Outcomes[i] = Outcome{Status: Poison, Reason: reason(err), Err: err}
			continue
		}
		b.Outcomes[i].Messages = len(envs[i])
	}
	return b
}

// add appends the messages of item i, made from its validated envelopes,
// or none of them and the error.
func (b *Batch) add(i int, id string, envs []events.Envelope) error {
	n := len(b.Messages)
	for j := range envs {
		// Envelopes of one item share its identity; each needs its own, or
		// deduplication by id would drop all but the first.
		fallback := id
		if len(envs) > 1 {
			fallback = fmt.Sprintf("%s#%d", id, j)
		}
		m, err := envs[j].Message(fallback)
		if err != nil {
			b.Messages, b.Owner, b.Envelopes = b.Messages[:n], b.Owner[:n], b.Envelopes[:n]
			return err
		}
		b.Messages = append(b.Messages, m)
		b.Owner = append(b.Owner, i)
		b.Envelopes = append(b.Envelopes, &envs[j])
	}
	return nil
}

// parallelItems is the least number of items per parsing goroutine: below
// it, starting one costs more than it saves.
const parallelItems = 256

// envelopes are an item's envelopes, validated.
func envelopes(it Item, lim broadcast.Limits) ([]events.Envelope, error) {
	if it.Err != nil {
		return nil, it.Err
	}
	if it.Body != nil {
		return events.Parse(it.Body, lim)
	}
	for i := range it.Envelopes {
		if err := it.Envelopes[i].Validate(lim); err != nil {
			if len(it.Envelopes) > 1 {
				return nil, fmt.Errorf("envelope %d: %w", i, err)
			}
			return nil, err
		}
	}
	return it.Envelopes, nil
}

// Settle folds the result of broadcasting b.Messages into the outcomes: an
// item with any temporarily failed message is Retry; otherwise one with a
// permanently failed message is Poison (the whole item, though some of its
// messages may have gone: a redriven dead letter can repeat those);
// otherwise Delivered.
//
// Temporary is the driver's answer (broadcast.IsTemporary), taken where the
// failure happened; Settle decides nothing of its own.
func (b *Batch) Settle(err error) []Outcome {
	out := append([]Outcome(nil), b.Outcomes...)
	if err == nil {
		return out
	}
	for i, e := range broadcast.Failures(err, len(b.Messages)) {
		if e == nil {
			continue
		}
		o := &out[b.Owner[i]]
		temporary := broadcast.IsTemporary(e)
		switch {
		case temporary && o.Status != Retry:
			o.Status, o.Reason, o.Err = Retry, e.Error(), e
		case !temporary && o.Status == Delivered:
			o.Status, o.Reason, o.Err = Poison, "refused by the provider: "+e.Error(), e
		}
	}
	return out
}

// Deliver plans items, broadcasts every valid message in one call and
// returns one outcome per item. Envelopes whose "unoccupied" is skip or
// fallback need a Trigger's Unoccupied: here they are poison.
func Deliver(ctx context.Context, s Broadcaster, items []Item) []Outcome {
	return deliver(ctx, s, nil, items)
}

// deliver is Deliver, leaving out the channels without a subscriber where
// an envelope asks (see Unoccupied.apply).
func deliver(ctx context.Context, s Broadcaster, u *Unoccupied, items []Item) []Outcome {
	b := Plan(items, s.Limits())
	u.apply(ctx, b)
	if len(b.Messages) == 0 {
		return b.Outcomes
	}
	return b.Settle(s.Broadcast(ctx, b.Messages))
}

// reason renders an error as a one-line reason for logs and dead letters.
func reason(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
