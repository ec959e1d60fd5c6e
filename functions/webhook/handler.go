package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/presence"
	"github.com/heraldrt/herald/shared/protocol"
)

// MaxBodyBytes is the largest webhook accepted: Lambda's 6 MB request
// payload, which an Ably batch of 1,000 events stays well under.
const MaxBodyBytes = 6 << 20

// Routes of the HTTP API.
const (
	PusherPath = "/webhooks/pusher"
	AblyPath   = "/webhooks/ably"
)

// Config holds the credentials webhooks are verified with. At least one
// provider must be configured; a route whose provider is not is answered
// 404.
type Config struct {
	// PusherKey and PusherSecret are the Pusher app's (PUSHER_APP_KEY,
	// PUSHER_APP_SECRET).
	PusherKey, PusherSecret string
	// Ably is the Ably API key the integration rule signs with (ABLY_KEY).
	Ably protocol.AblyKey
	// EventBus is the bus events are forwarded to (HERALD_EVENT_BUS, a
	// name or an ARN); empty forwards nothing.
	EventBus string
}

// Validate reports the first setting that cannot work, never a secret.
func (c Config) Validate() error {
	switch {
	case c.PusherKey != "" && c.PusherSecret == "":
		return errors.New("webhook: PUSHER_APP_SECRET is empty")
	case c.PusherKey == "" && c.PusherSecret != "":
		return errors.New("webhook: PUSHER_APP_KEY is empty")
	case c.PusherKey == "" && c.Ably.Name == "":
		return errors.New("webhook: no provider to verify webhooks with: set PUSHER_APP_KEY and PUSHER_APP_SECRET, or ABLY_KEY")
	}
	return nil
}

// Table is the presence table as the handler writes it; *presence.Table
// is one. Apply must be idempotent and ordered by Event.Time.
type Table interface {
	Apply(ctx context.Context, e presence.Event) (applied bool, err error)
	Seen(ctx context.Context, id string) (bool, error)
	MarkSeen(ctx context.Context, id string) error
}

var _ Table = (*presence.Table)(nil)

// Bus is the part of EventBridge the handler forwards through;
// *eventbridge.Client is one.
type Bus interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ Bus = (*eventbridge.Client)(nil)

// Deps are what FromEnv would otherwise build from the environment.
type Deps struct {
	// Table is the presence table; nil means the one PRESENCE_TABLE names
	// (required then).
	Table Table
	// Bus receives the events; nil means an EventBridge client from
	// config.AWS when HERALD_EVENT_BUS is set.
	Bus Bus
	// Logger is the handler's logger; nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves the webhook routes.
type Handler struct {
	cfg   Config
	table Table
	bus   Bus
	log   *slog.Logger
}

// FromEnv builds the WebhookFunction's handler from its configuration
// (PUSHER_APP_KEY, PUSHER_APP_SECRET, ABLY_KEY, PRESENCE_TABLE,
// PRESENCE_TTL, HERALD_EVENT_BUS), as its Lambda entry point does once at
// init.
func FromEnv(ctx context.Context, env config.Lookup, deps Deps) (*Handler, error) {
	cfg := Config{
		PusherKey:    env.Get("PUSHER_APP_KEY"),
		PusherSecret: env.Get("PUSHER_APP_SECRET"),
		EventBus:     env.Get("HERALD_EVENT_BUS"),
	}
	if k := env.Get("ABLY_KEY"); k != "" {
		var err error
		if cfg.Ably, err = protocol.ParseAblyKey(k); err != nil {
			return nil, fmt.Errorf("webhook: ABLY_KEY %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, table: deps.Table, bus: deps.Bus, log: deps.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.table == nil {
		t, err := presence.FromEnv(env)
		if err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
		if t == nil {
			return nil, errors.New("webhook: PRESENCE_TABLE is not set (the table the webhooks keep)")
		}
		h.table = t
	}
	if h.bus == nil && cfg.EventBus != "" {
		aws, err := config.AWS(env)
		if err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
		h.bus = eventbridge.NewFromConfig(aws)
	}
	return h, nil
}

// ServeHTTP answers POST /webhooks/pusher and POST /webhooks/ably.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p provider
	switch r.URL.Path {
	case PusherPath:
		if h.cfg.PusherKey != "" {
			p = pusherProvider{key: h.cfg.PusherKey, secret: h.cfg.PusherSecret}
		}
	case AblyPath:
		if h.cfg.Ably.Name != "" {
			p = ablyProvider{key: h.cfg.Ably}
		}
	}
	if p == nil {
		http.Error(w, "no such webhook", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	switch {
	case err != nil:
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	case len(body) > MaxBodyBytes:
		http.Error(w, fmt.Sprintf("body exceeds %d bytes", MaxBodyBytes), http.StatusRequestEntityTooLarge)
		return
	}
	if err := p.verify(r.Header, body); err != nil {
		h.log.WarnContext(r.Context(), "webhook refused", "provider", p.name(), "reason", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	metrics.Received(r.Context())
	evs, err := p.parse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := h.handle(r.Context(), p.name(), body, evs); err != nil {
		// 500: the provider retries, and what went through already is
		// not applied twice.
		h.log.ErrorContext(r.Context(), "webhook failed, the provider will retry", "provider", p.name(), "error", err)
		http.Error(w, "webhook could not be stored; retry", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}\n")
}

// handle applies a verified request's events to the table and forwards
// them, once per request: the request is recorded as seen only when both
// went through, so a failure is retried whole (the table ignores what it
// already holds; the bus may see an event twice, never none).
func (h *Handler) handle(ctx context.Context, provider string, body []byte, evs []presence.Event) error {
	sum := sha256.Sum256(append([]byte(provider+"\n"), body...))
	id := hex.EncodeToString(sum[:])
	seen, err := h.table.Seen(ctx, id)
	if err != nil {
		return err
	}
	if seen {
		h.log.InfoContext(ctx, "webhook delivered again; nothing to do", "provider", provider, "digest", id)
		return nil
	}
	applied := 0
	for _, e := range evs {
		ok, err := h.table.Apply(ctx, e)
		if err != nil {
			return err
		}
		if ok {
			applied++
		}
	}
	if h.bus != nil {
		if err := forward(ctx, h.bus, h.cfg.EventBus, provider, evs); err != nil {
			return err
		}
	}
	h.log.InfoContext(ctx, "webhook", "provider", provider, "events", len(evs), "applied", applied)
	return h.table.MarkSeen(ctx, id)
}

// provider verifies and parses one provider's webhooks.
type provider interface {
	name() string
	// verify checks the request's key and signature over the raw body.
	verify(h http.Header, body []byte) error
	// parse decodes a verified body into events in Pusher's terms.
	parse(body []byte) ([]presence.Event, error)
}
