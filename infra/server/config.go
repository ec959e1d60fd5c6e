package server

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/heraldrt/herald/shared/protocol"
)

// App is one Pusher application: the id the HTTP API names in its paths, the
// key pusher-js connects with, and the secret both sides sign with.
type App struct {
	ID     string
	Key    string
	Secret string
}

// AblyConfig makes the server accept ably-go's REST publishes.
type AblyConfig struct {
	// Key is an Ably API key, "appId.keyId:secret". Its name (before ':')
	// doubles as the Pusher key pusher-js connects with and its secret signs
	// subscriptions, as with Ably's Pusher adapter. Messages published
	// through the Ably API reach the app whose ID is the key's appId.
	Key string
	// WebhookURL, when set, receives the Ably app's webhooks as a signed,
	// batched and enveloped Ably integration rule sends them.
	WebhookURL string
}

// app is the Pusher app the key makes, as Ably's Pusher adapter sees it.
func (a AblyConfig) app() (App, error) {
	k, err := protocol.ParseAblyKey(a.Key)
	if err != nil {
		return App{}, fmt.Errorf("ably key %w", err)
	}
	return App{ID: k.AppID, Key: k.Name, Secret: k.Secret}, nil
}

// Config configures a Server. Zero durations and limits take Pusher's
// defaults.
type Config struct {
	// Apps are the Pusher applications served.
	Apps []App
	// Ably, when set, serves Ably's REST publish API as well and adds the
	// app its key describes.
	Ably *AblyConfig

	// ActivityTimeout is announced to clients in connection_established and
	// is how long the server waits on a silent connection before it sends a
	// pusher:ping. Default 120 s.
	ActivityTimeout time.Duration
	// PongTimeout is how long a pinged connection has to answer before it is
	// closed with 4201. Default 30 s.
	PongTimeout time.Duration
	// MaxPresenceMembers is the member limit of a presence channel. Default
	// 100.
	MaxPresenceMembers int
	// MaxEventBytes limits event data. Default 10 KB (10240 bytes).
	MaxEventBytes int
	// ClientEventsPerSecond limits client-* events per connection. Default
	// 10.
	ClientEventsPerSecond int
	// SendQueue is how many frames may wait for a slow client before it is
	// disconnected. Default 256.
	SendQueue int
	// DedupWindow is how long an Ably message id is remembered per channel.
	// Default 2 minutes.
	DedupWindow time.Duration
	// WriteTimeout bounds one frame write. Default 10 s.
	WriteTimeout time.Duration
	// WebhookURL, when set, receives the Pusher apps' webhooks, signed and
	// batched as Pusher sends them (see webhooks.go).
	WebhookURL string
	// WebhookBatch is how long webhook events gather into one request.
	// Default DefaultWebhookBatch.
	WebhookBatch time.Duration

	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// Pusher's published limits and timings.
const (
	DefaultActivityTimeout       = 120 * time.Second
	DefaultPongTimeout           = 30 * time.Second
	DefaultMaxPresenceMembers    = 100
	DefaultMaxEventBytes         = protocol.MaxDataBytes
	DefaultClientEventsPerSecond = 10
	DefaultSendQueue             = 256
	DefaultDedupWindow           = 2 * time.Minute
	DefaultWriteTimeout          = 10 * time.Second
)

// Validate reports the first thing wrong with c. It never mentions a secret.
func (c Config) Validate() error {
	if len(c.Apps) == 0 && c.Ably == nil {
		return errors.New("server config: no apps and no ably key")
	}
	ids := map[string]bool{}
	keys := map[string]bool{}
	add := func(a App, what string) error {
		switch {
		case a.ID == "":
			return fmt.Errorf("server config: %s has no id", what)
		case a.Key == "":
			return fmt.Errorf("server config: %s (id %q) has no key", what, a.ID)
		case a.Secret == "":
			return fmt.Errorf("server config: %s (id %q) has no secret", what, a.ID)
		case strings.ContainsAny(a.ID, "/?#") || strings.ContainsAny(a.Key, "/?#:"):
			return fmt.Errorf("server config: %s (id %q) has an id or key with a character URLs cannot carry", what, a.ID)
		case ids[a.ID]:
			return fmt.Errorf("server config: app id %q appears twice", a.ID)
		case keys[a.Key]:
			return fmt.Errorf("server config: app key %q appears twice", a.Key)
		}
		ids[a.ID], keys[a.Key] = true, true
		return nil
	}
	for i, a := range c.Apps {
		if err := add(a, fmt.Sprintf("app %d", i)); err != nil {
			return err
		}
	}
	if c.Ably != nil {
		app, err := c.Ably.app()
		if err != nil {
			return fmt.Errorf("server config: %w", err)
		}
		if err := add(app, "ably app"); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ActivityTimeout", c.ActivityTimeout}, {"PongTimeout", c.PongTimeout}, {"DedupWindow", c.DedupWindow}, {"WriteTimeout", c.WriteTimeout}, {"WebhookBatch", c.WebhookBatch}} {
		if d.v < 0 {
			return fmt.Errorf("server config: %s is negative", d.name)
		}
	}
	if c.ActivityTimeout > 0 && c.ActivityTimeout < time.Second {
		return errors.New("server config: ActivityTimeout below one second cannot be announced (the protocol counts seconds)")
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"MaxPresenceMembers", c.MaxPresenceMembers}, {"MaxEventBytes", c.MaxEventBytes}, {"ClientEventsPerSecond", c.ClientEventsPerSecond}, {"SendQueue", c.SendQueue}} {
		if n.v < 0 {
			return fmt.Errorf("server config: %s is negative", n.name)
		}
	}
	return nil
}

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n == 0 {
			*n = v
		}
	}
	def(&c.ActivityTimeout, DefaultActivityTimeout)
	def(&c.PongTimeout, DefaultPongTimeout)
	def(&c.DedupWindow, DefaultDedupWindow)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.WebhookBatch, DefaultWebhookBatch)
	defInt(&c.MaxPresenceMembers, DefaultMaxPresenceMembers)
	defInt(&c.MaxEventBytes, DefaultMaxEventBytes)
	defInt(&c.ClientEventsPerSecond, DefaultClientEventsPerSecond)
	defInt(&c.SendQueue, DefaultSendQueue)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// apps returns every app served, the Ably one included.
func (c Config) apps() []App {
	apps := append([]App(nil), c.Apps...)
	if c.Ably != nil {
		if app, err := c.Ably.app(); err == nil {
			apps = append(apps, app)
		}
	}
	return apps
}
