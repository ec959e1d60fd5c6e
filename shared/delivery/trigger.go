package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/metrics"
)

// Broadcaster is the driver as delivery sends through it; every
// broadcast.Driver, guarded or not, is one. Broadcast reports per-message
// failures as broadcast.Failures reads them and never outlives ctx.
type Broadcaster interface {
	Broadcast(ctx context.Context, msgs []broadcast.Message) error
	Limits() broadcast.Limits
}

// DeadLetters takes poison items, one error per letter (nil when durably
// queued); *deadletter.Sender is one.
type DeadLetters interface {
	Send(ctx context.Context, letters []deadletter.Letter) []error
}

// ErrNothingDelivered is returned when every item of a batch failed
// temporarily: the source retries the whole batch, and Lambda backs off.
var ErrNothingDelivered = errors.New("delivery: no item of the batch could be broadcast")

// Trigger is the delivery path every trigger function shares: it plans and
// broadcasts an invocation's items, logs what became of each, and sends
// the poison ones to the dead-letter queue. The trigger turns its event
// into Items and the Results into its source's answer.
type Trigger struct {
	// Driver broadcasts. Required.
	Driver Broadcaster
	// DeadLetters takes poison items; when nil they are reported as failed
	// so the source's own redrive policy or on-failure destination applies.
	DeadLetters DeadLetters
	// Log receives one line per failed or poison item. Required.
	Log *slog.Logger
	// Noun names an item in log lines ("message", "record"); IDKey and
	// MessageIDKey are the log keys of Item.ID and Item.MessageID.
	Noun, IDKey, MessageIDKey string
	// Unoccupied serves envelopes whose "unoccupied" is skip or fallback:
	// where occupancy comes from and where fallbacks go. nil: such
	// envelopes are poison.
	Unoccupied *Unoccupied
	// Ordered is for sources that resume a batch from the first item
	// reported failed (DynamoDB streams): every item after it comes again,
	// so poison items past it are left for that delivery instead of being
	// dead-lettered twice.
	Ordered bool
}

// Result is what became of one item and what its source must be told.
type Result struct {
	Outcome
	// Failed items are reported to the source, which delivers them again:
	// those to retry and poison ones no dead-letter queue took.
	Failed bool
}

// Run delivers items and returns one Result per item. When every item
// failed temporarily, err wraps ErrNothingDelivered; the results are
// complete all the same.
func (t *Trigger) Run(ctx context.Context, items []Item) ([]Result, error) {
	if t.Driver == nil {
		return nil, errors.New("delivery: no broadcast driver configured")
	}
	outcomes := deliver(ctx, t.Driver, t.Unoccupied, items)
	res := make([]Result, len(items))
	retries := 0
	var poison []int
	for i, o := range outcomes {
		res[i].Outcome = o
		switch o.Status {
		case Retry:
			retries++
			res[i].Failed = true
			t.Log.WarnContext(ctx, "broadcast failed, will retry", t.attrs(items[i], "reason", o.Reason)...)
		case Poison:
			if t.Ordered && retries > 0 && items[i].ID != "" {
				t.Log.WarnContext(ctx, "poison "+t.Noun+" after a "+t.Noun+" to retry; it is dead-lettered when the source delivers it again", t.attrs(items[i], "reason", o.Reason)...)
				continue
			}
			t.Log.ErrorContext(ctx, "poison "+t.Noun, t.attrs(items[i], "source", items[i].Source, "reason", o.Reason)...)
			poison = append(poison, i)
		}
	}
	t.count(ctx, items, outcomes, retries, len(poison))
	if len(items) > 0 && retries == len(items) {
		return res, fmt.Errorf("%w: first failure: %s", ErrNothingDelivered, outcomes[0].Reason)
	}
	for _, i := range t.deadLetter(ctx, items, outcomes, poison) {
		res[i].Failed = true
	}
	return res, nil
}

// count records the invocation's metrics: events brought and broadcast,
// items handed back and poison, and the lag of each delivered item, taken
// now that the provider has answered.
func (t *Trigger) count(ctx context.Context, items []Item, outcomes []Outcome, retries, poison int) {
	m := metrics.From(ctx)
	if m == nil {
		return
	}
	events, sent := 0, 0
	for i, o := range outcomes {
		events += o.Messages
		if o.Status == Delivered {
			sent += o.Messages
			if o.Messages > 0 {
				m.Since(metrics.Lag, items[i].Sent)
			}
		}
	}
	m.Add(metrics.Events, events)
	m.Add(metrics.Broadcasts, sent)
	m.Add(metrics.Redelivered, retries)
	m.Add(metrics.Poison, poison)
}

// deadLetter sends the poison items to the dead-letter queue and returns
// those that must be reported as failed: all of them without one, else the
// ones it did not take. Either way none is lost.
func (t *Trigger) deadLetter(ctx context.Context, items []Item, outcomes []Outcome, poison []int) []int {
	if len(poison) == 0 || t.DeadLetters == nil {
		return poison
	}
	letters := make([]deadletter.Letter, len(poison))
	for n, i := range poison {
		it := items[i]
		letters[n] = deadletter.Letter{Body: it.Raw, Reason: outcomes[i].Reason, SourceID: cmp.Or(it.MessageID, it.ID), Source: it.Source}
	}
	var failed []int
	for n, err := range t.DeadLetters.Send(ctx, letters) {
		if err != nil {
			t.Log.ErrorContext(ctx, "dead-letter queue refused poison "+t.Noun+"; reporting it as failed", t.attrs(items[poison[n]], "error", err)...)
			failed = append(failed, poison[n])
		}
	}
	return failed
}

// attrs are an item's identity for a log line, then more.
func (t *Trigger) attrs(it Item, more ...any) []any {
	out := append(make([]any, 0, 4+len(more)), t.IDKey, it.ID)
	if t.MessageIDKey != "" {
		out = append(out, t.MessageIDKey, it.MessageID)
	}
	return append(out, more...)
}

// Deps are what FromEnv would otherwise build from the environment. A
// Lambda entry point leaves them empty; tests and the local stack supply
// their own.
type Deps struct {
	// Driver broadcasts; nil means DriverFromEnv's.
	Driver Broadcaster
	// DeadLetters takes poison items; nil means a sender to the queue
	// BROADCAST_DLQ_URL names (through an SQS client from config.AWS), or
	// none when it is unset.
	DeadLetters DeadLetters
	// Unoccupied serves "unoccupied"; nil means UnoccupiedFromEnv's.
	Unoccupied *Unoccupied
	// Logger is the function's logger; nil means slog.Default().
	Logger *slog.Logger
}

// FromEnv builds the delivery path of a trigger function from its
// configuration (the driver's variables, BROADCAST_RETRY_*,
// IDEMPOTENCY_*, BROADCAST_DLQ_URL, and for "unoccupied" PRESENCE_TABLE and
// BROADCAST_FALLBACK_URL), filling in what deps leave out. The
// caller names its items (Noun, IDKey, MessageIDKey, Ordered).
func FromEnv(ctx context.Context, env config.Lookup, deps Deps) (*Trigger, error) {
	t := &Trigger{Driver: deps.Driver, DeadLetters: deps.DeadLetters, Log: cmp.Or(deps.Logger, slog.Default())}
	if t.Driver == nil {
		d, err := DriverFromEnv(ctx, env, t.Log)
		if err != nil {
			return nil, err
		}
		t.Driver = d
	}
	if t.DeadLetters == nil {
		dl, err := deadletter.FromEnv(env)
		if err != nil {
			return nil, err
		}
		if dl != nil { // a nil *Sender in the interface would not be nil
			t.DeadLetters = dl
		}
	}
	if t.Unoccupied = deps.Unoccupied; t.Unoccupied == nil {
		u, err := UnoccupiedFromEnv(env, t.Log)
		if err != nil {
			return nil, err
		}
		t.Unoccupied = u
	}
	return t, nil
}
