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

	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/shared/config"
)

// Default addresses: the HTTP functions where `sam local start-api` puts
// them, the embedded server where Laravel Echo's local examples expect a
// Pusher-compatible server, moto where LocalStack users find their AWS.
const (
	DefaultHTTPAddr   = "127.0.0.1:3000"
	DefaultServerAddr = "127.0.0.1:6001"
	DefaultAWSAddr    = moto.DefaultAddr
)

// Config configures a Stack. The zero value serves on the default addresses
// with the process environment and template.yaml's settings.
type Config struct {
	// HTTPAddr serves the HTTP functions, the demo page and /dev; "host:0"
	// picks a free port (the -http flag).
	HTTPAddr string
	// ServerAddr serves the embedded Pusher-compatible server (-server).
	ServerAddr string
	// AWSAddr is where the stack starts moto, its AWS (-aws).
	AWSAddr string
	// AWS, when set, is a running moto to use instead: the stack resets it
	// (its resources have fixed names) and leaves it running. For tests
	// that run stacks one after another.
	AWS *moto.Server
	// Python runs moto; default: moto.FindPython's choice.
	Python string

	// Lookup reads the environment; nil means os.LookupEnv. Empty values
	// count as unset, so a blank line in a .env file keeps the default.
	Lookup config.Lookup

	// VisibilityTimeout is the broadcast queue's: how long a failed message
	// stays hidden before it is delivered again. Default template.yaml's
	// (QueueVisibilityTimeout); shorten it to watch retries.
	VisibilityTimeout time.Duration
	// SQS is the QueueFunction's event source mapping; zero fields take
	// template.yaml's values (QueueMapping).
	SQS SQSMapping
	// Stream is the StreamFunction's, for every table; zero fields take
	// template.yaml's values (StreamMapping).
	Stream StreamMapping

	// NodeModules is infra/node/node_modules, where pusher-js is served
	// from; default found from the working directory upwards.
	NodeModules string

	// Out receives the start-up banner; nil discards it.
	Out io.Writer
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// AWSLog receives moto's request log; nil discards it.
	AWSLog io.Writer
}

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	for _, a := range []struct{ name, v string }{{"HTTPAddr", c.HTTPAddr}, {"ServerAddr", c.ServerAddr}, {"AWSAddr", c.AWSAddr}} {
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
	case c.VisibilityTimeout > 12*time.Hour:
		return errors.New("stack config: VisibilityTimeout is over SQS's 12 hours")
	}
	if err := c.SQS.validate(); err != nil {
		return err
	}
	// A message gathered early in the window must not become visible
	// again before the batch is handed over.
	if w := c.SQS.withDefaults().BatchingWindow; c.VisibilityTimeout != 0 && c.VisibilityTimeout <= w {
		return fmt.Errorf("stack config: VisibilityTimeout %v must be longer than the SQS batching window %v", c.VisibilityTimeout, w)
	}
	return c.Stream.validate()
}

func (c Config) withDefaults() Config {
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.ServerAddr == "" {
		c.ServerAddr = DefaultServerAddr
	}
	if c.AWSAddr == "" {
		c.AWSAddr = DefaultAWSAddr
	}
	if c.Lookup == nil {
		c.Lookup = os.LookupEnv
	}
	if c.VisibilityTimeout == 0 {
		c.VisibilityTimeout = QueueVisibilityTimeout
	}
	c.SQS = c.SQS.withDefaults()
	c.Stream = c.Stream.withDefaults()
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
