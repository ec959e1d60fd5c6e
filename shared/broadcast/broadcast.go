package broadcast

import (
	"fmt"
	"log/slog"
)

// Connections lists the BROADCAST_CONNECTION values New accepts.
var Connections = []string{"pusher", "ably", "log", "null"}

// Config selects and configures one driver.
type Config struct {
	// Connection is BROADCAST_CONNECTION: pusher, ably, log or null.
	Connection string
	Pusher     PusherConfig
	Ably       AblyConfig
}

// Validate checks the connection name and the selected driver's settings;
// the other driver's settings are ignored, as Laravel ignores unused
// connections.
func (c Config) Validate() error {
	switch c.Connection {
	case "pusher":
		return c.Pusher.Validate()
	case "ably":
		return c.Ably.Validate()
	case "log", "null":
		return nil
	case "":
		return fmt.Errorf("BROADCAST_CONNECTION is empty (want one of pusher, ably, log, null)")
	}
	return fmt.Errorf("BROADCAST_CONNECTION %q is not one of pusher, ably, log, null", c.Connection)
}

// New returns the driver cfg selects. logger receives the log driver's lines;
// nil means slog.Default(). New does no I/O.
func New(cfg Config, logger *slog.Logger) (Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch cfg.Connection {
	case "pusher":
		return NewPusher(cfg.Pusher)
	case "ably":
		return NewAbly(cfg.Ably)
	case "log":
		return NewLog(logger), nil
	}
	return Null{}, nil
}
