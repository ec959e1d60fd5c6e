package broadcast

import (
	"fmt"
	"log/slog"
)

// Connections lists the BROADCAST_CONNECTION values New accepts.
var Connections = []string{"pusher", "reverb", "ably", "log", "null"}

// Config selects and configures one driver.
type Config struct {
	// Connection is BROADCAST_CONNECTION: pusher, reverb (the pusher driver
	// with Laravel's REVERB_* settings), ably, log or null.
	Connection string
	Pusher     PusherConfig
	Ably       AblyConfig
}

// Validate checks the connection name and the selected driver's settings;
// the other driver's settings are ignored, as Laravel ignores unused
// connections.
func (c Config) Validate() error {
	switch c.Connection {
	case "pusher", "reverb":
		return c.Pusher.Validate()
	case "ably":
		return c.Ably.Validate()
	case "log", "null":
		return nil
	case "":
		return fmt.Errorf("BROADCAST_CONNECTION is empty (want one of pusher, reverb, ably, log, null)")
	}
	return fmt.Errorf("BROADCAST_CONNECTION %q is not one of pusher, reverb, ably, log, null", c.Connection)
}

// New returns the driver cfg selects. logger receives the log driver's lines
// (nil means slog.Default()) and, at debug level, the event name and
// channels of each message the pusher and ably drivers broadcast (nil: no
// such lines). New does no I/O.
func New(cfg Config, logger *slog.Logger) (Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch cfg.Connection {
	case "pusher", "reverb", "ably":
		d, err := newNetwork(cfg)
		if err != nil || logger == nil {
			return d, err
		}
		return logged{Driver: d, log: logger}, nil
	case "log":
		return NewLog(logger), nil
	}
	return Null{}, nil
}

// newNetwork returns the pusher or ably driver cfg selects.
func newNetwork(cfg Config) (interface {
	Driver
	Querier
}, error) {
	if cfg.Connection == "ably" {
		a, err := NewAbly(cfg.Ably)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	p, err := NewPusher(cfg.Pusher)
	if err != nil {
		return nil, err
	}
	return p, nil
}
