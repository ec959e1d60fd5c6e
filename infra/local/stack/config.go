package stack

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// Default addresses: the HTTP functions where `sam local start-api` puts
// them, the embedded server where Laravel Echo's local examples expect a
// Pusher-compatible server, the SQS endpoint where ElasticMQ listens.
const (
	DefaultHTTPAddr   = "127.0.0.1:3000"
	DefaultServerAddr = "127.0.0.1:6001"
	DefaultSQSAddr    = "127.0.0.1:9324"
)

// Names of the local queues.
const (
	QueueName = "herald-broadcast"
	DLQName   = "herald-broadcast-dlq"
)

// Config configures a Stack. The zero value serves on the default addresses
// with the process environment.
type Config struct {
	// HTTPAddr serves the HTTP functions, the demo page and /dev; "host:0"
	// picks a free port.
	HTTPAddr string
	// ServerAddr serves the embedded Pusher-compatible server.
	ServerAddr string
	// SQSAddr serves the local SQS endpoint.
	SQSAddr string

	// Lookup reads the environment; nil means os.LookupEnv. Empty values
	// count as unset, so a blank line in a .env file keeps the default.
	Lookup func(key string) (string, bool)

	// VisibilityTimeout is the broadcast queue's: how long a failed message
	// stays hidden before it is delivered again. Default 10 s (locally
	// short, so retries can be watched).
	VisibilityTimeout time.Duration
	// MaxReceives is the redrive policy's maxReceiveCount: after that many
	// receives a message moves to the DLQ. Default 5, as in template.yaml.
	MaxReceives int
	// BatchSize is the most messages handed to the QueueFunction at once.
	// Default 10, SQS's largest single receive.
	BatchSize int

	// NodeModules is infra/node/node_modules, where pusher-js is served
	// from; default found from the working directory upwards.
	NodeModules string

	// Out receives the start-up banner; nil discards it.
	Out io.Writer
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	for _, a := range []struct{ name, v string }{{"HTTPAddr", c.HTTPAddr}, {"ServerAddr", c.ServerAddr}, {"SQSAddr", c.SQSAddr}} {
		if a.v == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.v); err != nil {
			return fmt.Errorf("stack config: %s %q: %w", a.name, a.v, err)
		} else if _, err := strconv.Atoi(port); err != nil {
			return fmt.Errorf("stack config: %s %q: port must be a number", a.name, a.v)
		}
	}
	switch {
	case c.VisibilityTimeout < 0:
		return errors.New("stack config: VisibilityTimeout is negative")
	case c.VisibilityTimeout%time.Second != 0:
		return errors.New("stack config: VisibilityTimeout must be whole seconds (SQS counts seconds)")
	case c.MaxReceives < 0:
		return errors.New("stack config: MaxReceives is negative")
	case c.BatchSize < 0 || c.BatchSize > 10:
		return errors.New("stack config: BatchSize must be between 1 and 10")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.ServerAddr == "" {
		c.ServerAddr = DefaultServerAddr
	}
	if c.SQSAddr == "" {
		c.SQSAddr = DefaultSQSAddr
	}
	if c.Lookup == nil {
		c.Lookup = os.LookupEnv
	}
	if c.VisibilityTimeout == 0 {
		c.VisibilityTimeout = 10 * time.Second
	}
	if c.MaxReceives == 0 {
		c.MaxReceives = 5
	}
	if c.BatchSize == 0 {
		c.BatchSize = 10
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
