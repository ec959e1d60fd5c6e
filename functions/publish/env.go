package publish

import (
	"log/slog"
	"strings"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// Deps are what FromEnv would otherwise build from the environment. The
// Lambda entry point leaves them empty; the local stack supplies its own.
type Deps struct {
	// Driver broadcasts in direct mode; nil means delivery.DriverFromEnv.
	Driver Broadcaster
	// SQS queues envelopes in queue mode; nil means a client from
	// config.AWS.
	SQS sqsbatch.API
	// Logger is the handler's logger; nil means slog.Default().
	Logger *slog.Logger
}

// FromEnv builds the PublishFunction's handler from its configuration
// (PUBLISH_APP_ID, PUBLISH_APP_KEY, PUBLISH_APP_SECRET, PUBLISH_MODE,
// BROADCAST_QUEUE_URL, and in direct mode the driver's variables), as its
// Lambda entry point does once at init. opts come last and win.
func FromEnv(env config.Lookup, deps Deps, opts ...Option) (*Handler, error) {
	get := func(k string) string { v, _ := env(k); return strings.TrimSpace(v) }
	cfg := Config{
		AppID:    get("PUBLISH_APP_ID"),
		Key:      get("PUBLISH_APP_KEY"),
		Secret:   get("PUBLISH_APP_SECRET"),
		Mode:     get("PUBLISH_MODE"),
		QueueURL: get("BROADCAST_QUEUE_URL"),
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeQueue
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	base := []Option{WithLogger(log)}
	if cfg.Mode == ModeDirect {
		d := deps.Driver
		if d == nil {
			// Retries always; an event's id broadcast once when
			// IDEMPOTENCY_TABLE is set (events without an id get the
			// request's).
			var err error
			if d, err = delivery.DriverFromEnv(env, log); err != nil {
				return nil, err
			}
		}
		return New(cfg, append(append(base, WithDriver(d)), opts...)...)
	}
	// Queue mode needs no provider credentials (the queue function has
	// them), only the limits to validate against, so oversize events are
	// refused here rather than dead-lettered later.
	api := deps.SQS
	if api == nil {
		var err error
		if api, err = sqsbatch.ClientFromEnv(env); err != nil {
			return nil, err
		}
	}
	base = append(base, WithQueue(api))
	if get("BROADCAST_CONNECTION") == "ably" {
		base = append(base, WithLimits(broadcast.Limits{MaxDataBytes: protocol.AblyMaxMessageBytes, MaxChannelsPerCall: protocol.AblyMaxBatchChannels}))
	}
	return New(cfg, append(base, opts...)...)
}
