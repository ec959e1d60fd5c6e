package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// Modes of delivery.
const (
	ModeDirect = "direct"
	ModeQueue  = "queue"
)

// MaxBodyBytes is the largest request body accepted: 1 MB.
const MaxBodyBytes = 1 << 20

// Config holds the publish credentials and mode.
type Config struct {
	AppID  string // PUBLISH_APP_ID
	Key    string // PUBLISH_APP_KEY
	Secret string // PUBLISH_APP_SECRET
	// Mode is "direct" or "queue" (PUBLISH_MODE; default queue).
	Mode string
	// QueueURL is the broadcast queue (BROADCAST_QUEUE_URL), for queue mode.
	QueueURL string
}

// Validate reports the first setting that cannot work, never the secret.
func (c Config) Validate() error {
	switch {
	case c.AppID == "":
		return errors.New("publish: PUBLISH_APP_ID is empty")
	case c.Key == "":
		return errors.New("publish: PUBLISH_APP_KEY is empty")
	case c.Secret == "":
		return errors.New("publish: PUBLISH_APP_SECRET is empty")
	}
	switch c.Mode {
	case ModeDirect:
	case ModeQueue:
		if c.QueueURL == "" {
			return errors.New("publish: PUBLISH_MODE=queue needs BROADCAST_QUEUE_URL")
		}
	default:
		return fmt.Errorf("publish: PUBLISH_MODE %q must be %q or %q", c.Mode, ModeDirect, ModeQueue)
	}
	return nil
}

// Deps are what FromEnv would otherwise build from the environment. The
// Lambda entry point leaves them empty; tests and the local stack supply
// their own.
type Deps struct {
	// Driver broadcasts in direct mode; nil means delivery.DriverFromEnv's.
	Driver delivery.Broadcaster
	// SQS queues envelopes in queue mode; nil means a client from
	// config.AWS.
	SQS sqsbatch.API
	// Logger is the handler's logger; nil means slog.Default().
	Logger *slog.Logger
	// Now replaces time.Now for the auth_timestamp check.
	Now func() time.Time
	// Querier answers the channel queries and terminate_connections; nil
	// means Driver's when it has them, else those of the driver
	// BROADCAST_CONNECTION selects.
	Querier broadcast.Querier
}

// Handler serves the Pusher HTTP API: the publish routes, the channel
// queries and terminate_connections.
type Handler struct {
	cfg    Config
	core   *delivery.Trigger // direct mode
	queue  sqsbatch.API      // queue mode
	limits broadcast.Limits
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux

	replay *replayGuard // nil: PUBLISH_REPLAY_WINDOW unset

	// query answers the queries; when nil, noQuery says why.
	query   broadcast.Querier
	noQuery error
}

// FromEnv builds the PublishFunction's handler from its configuration
// (PUBLISH_APP_ID, PUBLISH_APP_KEY, PUBLISH_APP_SECRET, PUBLISH_MODE,
// BROADCAST_QUEUE_URL, and in direct mode the driver's variables), as its
// Lambda entry point does once at init.
func FromEnv(ctx context.Context, env config.Lookup, deps Deps) (*Handler, error) {
	cfg := Config{
		AppID:    env.Get("PUBLISH_APP_ID"),
		Key:      env.Get("PUBLISH_APP_KEY"),
		Secret:   env.Get("PUBLISH_APP_SECRET"),
		Mode:     env.Get("PUBLISH_MODE"),
		QueueURL: env.Get("BROADCAST_QUEUE_URL"),
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeQueue
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	replay, err := replayFromEnv(env)
	if err != nil {
		return nil, err
	}
	h := &Handler{replay: replay, cfg: cfg, now: deps.Now, log: deps.Logger, limits: broadcast.Limits{
		MaxDataBytes:       protocol.MaxDataBytes,
		MaxChannelsPerCall: protocol.MaxChannelsPerTrigger,
		MaxEventsPerCall:   protocol.MaxBatchEvents,
	}}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.routes()
	h.query = deps.Querier
	if h.query == nil {
		if q, ok := deps.Driver.(broadcast.Querier); ok {
			h.query = q
		} else {
			h.query, h.noQuery = querierFromEnv(env)
			if h.noQuery != nil && !errors.Is(h.noQuery, errNoProvider) {
				h.log.WarnContext(ctx, "channel queries unavailable", "reason", h.noQuery.Error())
			}
		}
	}
	if cfg.Mode == ModeDirect {
		d := deps.Driver
		if d == nil {
			// Retries always; an event's id broadcast once when
			// IDEMPOTENCY_TABLE is set (events without an id get the
			// request's).
			var err error
			if d, err = delivery.DriverFromEnv(ctx, env, h.log); err != nil {
				return nil, err
			}
		}
		// No dead-letter queue: the answer tells the caller instead.
		h.core = &delivery.Trigger{Driver: d, Log: h.log, Noun: "request", IDKey: "requestId"}
		h.limits = d.Limits()
		return h, nil
	}
	// Queue mode needs no provider credentials (the queue function has
	// them), only the limits to validate against, so oversize events are
	// refused here rather than dead-lettered later.
	if h.queue = deps.SQS; h.queue == nil {
		var err error
		if h.queue, err = sqsbatch.ClientFromEnv(env); err != nil {
			return nil, err
		}
	}
	if broadcast.Connection(env) == "ably" {
		h.limits = broadcast.Limits{MaxDataBytes: protocol.AblyMaxMessageBytes, MaxChannelsPerCall: protocol.AblyMaxBatchChannels}
	}
	return h, nil
}

// errNoProvider is why the log and null drivers answer no query.
var errNoProvider = errors.New("channel queries need a provider to ask")

// querierFromEnv builds the Querier of the driver BROADCAST_CONNECTION
// selects. Publishing in queue mode does not need the provider's settings,
// so settings the queries cannot use are not a start-up failure: the
// queries answer with the reason.
func querierFromEnv(env config.Lookup) (broadcast.Querier, error) {
	cfg, err := broadcast.LoadConfig(env)
	if err != nil {
		return nil, fmt.Errorf("channel queries need the provider's settings: %w", err)
	}
	q, ok, err := broadcast.NewQuerier(cfg)
	if err != nil {
		return nil, fmt.Errorf("channel queries need the provider's settings: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: BROADCAST_CONNECTION=%s has none", errNoProvider, cfg.Connection)
	}
	return q, nil
}

// routes are the Pusher HTTP API's; anything else is a JSON 404 (or 405
// for a known route's other method).
func (h *Handler) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /apps/{app}/events", h.signed("events", h.publish))
	m.HandleFunc("POST /apps/{app}/batch_events", h.signed("batch_events", h.publish))
	m.HandleFunc("GET /apps/{app}/channels", h.signed("channels", h.channels))
	m.HandleFunc("GET /apps/{app}/channels/{channel}", h.signed("channel", h.channel))
	m.HandleFunc("GET /apps/{app}/channels/{channel}/users", h.signed("users", h.users))
	m.HandleFunc("POST /apps/{app}/users/{user}/terminate_connections", h.signed("terminate_connections", h.terminate))
	m.HandleFunc("/", h.unknownRoute)
	h.mux = m
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if publishing(r) {
		w = counted(w, r)
	}
	h.mux.ServeHTTP(w, r)
}

// pusherError writes an error as Pusher's API does: a status and a short
// plain-text body.
func pusherError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// writeJSON answers 200 with v.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		pusherError(w, http.StatusInternalServerError, "encoding the answer failed")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// refuse logs a refusal with its reason and answers it. Reasons never hold
// a secret: they come from signature, events and broadcast, which leave
// secrets out.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, route string, status int, reason string) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	h.log.Log(r.Context(), level, "publish request refused", "route", route, "method", r.Method, "status", status, "reason", reason)
	pusherError(w, status, reason)
}

// routeShapes are the API's routes by shape, for telling a wrong method
// from an unknown route.
var routeShapes = []struct{ method, shape string }{
	{http.MethodPost, "/apps/{app_id}/events"},
	{http.MethodPost, "/apps/{app_id}/batch_events"},
	{http.MethodGet, "/apps/{app_id}/channels"},
	{http.MethodGet, "/apps/{app_id}/channels/{channel_name}"},
	{http.MethodGet, "/apps/{app_id}/channels/{channel_name}/users"},
	{http.MethodPost, "/apps/{app_id}/users/{user_id}/terminate_connections"},
}

// matches reports whether path has shape's literal segments where shape
// has them and one segment for each {placeholder}.
func matches(path, shape string) bool {
	ps, ss := strings.Split(path, "/"), strings.Split(shape, "/")
	if len(ps) != len(ss) {
		return false
	}
	for i := range ss {
		if strings.HasPrefix(ss[i], "{") {
			if ps[i] == "" {
				return false
			}
		} else if ps[i] != ss[i] {
			return false
		}
	}
	return true
}

// unknownRoute answers a request no route takes: 405 naming the method a
// known route takes, else a JSON 404 listing the routes.
func (h *Handler) unknownRoute(w http.ResponseWriter, r *http.Request) {
	var routes []string
	for _, rs := range routeShapes {
		if matches(r.URL.Path, rs.shape) {
			w.Header().Set("Allow", rs.method)
			h.refuse(w, r, rs.shape, http.StatusMethodNotAllowed, fmt.Sprintf("Method not allowed: use %s for %s", rs.method, rs.shape))
			return
		}
		routes = append(routes, rs.method+" "+rs.shape)
	}
	msg := fmt.Sprintf("Not found: %s %s is not a route of the Pusher HTTP API; this endpoint serves %s", r.Method, r.URL.Path, strings.Join(routes, ", "))
	h.log.InfoContext(r.Context(), "publish request refused", "route", "unknown", "method", r.Method, "path", r.URL.Path, "status", http.StatusNotFound)
	b, _ := json.Marshal(map[string]string{"error": msg}) // a string map always encodes
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	w.Write(b)
}

// signHint follows every signature refusal: the usual cause is an SDK
// configured with the provider's credentials instead of herald's.
const signHint = "requests to herald are signed with PUBLISH_APP_KEY and PUBLISH_APP_SECRET (the publish credentials), not the Pusher or Ably account's"

// signed checks what every route shares (the app id, the body's size and
// the request's signature) and then runs next with the body.
func (h *Handler) signed(route string, next func(w http.ResponseWriter, r *http.Request, route string, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		appID := r.PathValue("app")
		if !signature.Equal(appID, h.cfg.AppID) {
			h.refuse(w, r, route, http.StatusNotFound, fmt.Sprintf("Unknown app: app id %q is not the PUBLISH_APP_ID this endpoint serves; give the SDK that value as its app id", appID))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			h.refuse(w, r, route, http.StatusBadRequest, "Could not read the request body")
			return
		}
		if len(body) > MaxBodyBytes || r.ContentLength > MaxBodyBytes {
			h.refuse(w, r, route, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is larger than %d bytes", MaxBodyBytes))
			return
		}
		secretFor := func(key string) (string, bool) {
			if signature.Equal(key, h.cfg.Key) {
				return h.cfg.Secret, true
			}
			return "", false
		}
		if err := signature.VerifyRequest(r.Method, r.URL.Path, r.URL.Query(), body, secretFor, h.now()); err != nil {
			h.refuse(w, r, route, http.StatusUnauthorized, "Unauthorized: "+err.Error()+"; "+signHint)
			return
		}
		if status, err := h.replay.check(r.Context(), r.Method, r.URL.Query(), h.now()); err != nil {
			h.refuse(w, r, route, status, err.Error())
			return
		}
		next(w, r, route, body)
	}
}

// publish serves /events and /batch_events.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request, route string, body []byte) {
	envs, status, err := decode(route, body, h.limits)
	if err != nil {
		h.refuse(w, r, route, status, err.Error())
		return
	}
	h.logEnvelopes(r.Context(), route, envs)
	if h.cfg.Mode == ModeQueue {
		status, err = h.enqueue(r.Context(), envs)
	} else {
		status, err = h.broadcast(r.Context(), envs)
	}
	if err != nil {
		h.log.WarnContext(r.Context(), "publish failed", "route", route, "status", status, "reason", err.Error(), "events", len(envs))
		pusherError(w, status, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

// logEnvelopes logs the request in one info line counting the channels of
// each kind and, in queue mode, each event at debug level with its
// channels (in direct mode the driver logs them as it broadcasts; see
// broadcast.New).
func (h *Handler) logEnvelopes(ctx context.Context, route string, envs []events.Envelope) {
	var kinds [protocol.User + 1]int
	for i := range envs {
		chans := envs[i].Channels
		if envs[i].Channel != "" {
			chans = append([]string{envs[i].Channel}, chans...)
		}
		if h.cfg.Mode == ModeQueue {
			h.log.DebugContext(ctx, "queued", "event", envs[i].Name, "channels", chans)
		}
		for _, ch := range chans {
			kinds[protocol.KindOf(ch)]++
		}
	}
	attrs := []any{"route", route, "mode", h.cfg.Mode, "events", len(envs)}
	var counts []any
	for k, n := range kinds {
		if n > 0 {
			counts = append(counts, slog.Int(protocol.Kind(k).String(), n))
		}
	}
	h.log.InfoContext(ctx, "publish", append(attrs, slog.Group("channels", counts...))...)
}

// decode parses the body of either route into validated envelopes. It
// returns the status to answer with when the body is refused: 413 for event
// data over the limit (as Pusher answers), 400 otherwise.
func decode(route string, body []byte, lim broadcast.Limits) ([]events.Envelope, int, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil || probe == nil {
		return nil, http.StatusBadRequest, errors.New("Invalid JSON: the body must be a JSON object")
	}
	_, isBatch := probe["batch"]
	switch {
	case route == "events" && isBatch:
		return nil, http.StatusBadRequest, errors.New("batch: send batches to /batch_events")
	case route == "batch_events" && !isBatch:
		return nil, http.StatusBadRequest, errors.New("batch: is required")
	}
	body, err := stripInfo(probe)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	envs, err := events.Decode(body)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	for i := range envs {
		if err := envs[i].Validate(lim); err != nil {
			status := http.StatusBadRequest
			if p, perr := envs[i].Payload(); perr == nil && lim.MaxDataBytes > 0 && len(p) > lim.MaxDataBytes {
				status = http.StatusRequestEntityTooLarge
			}
			// Validate's errors are all *events.Error naming a field.
			var e *events.Error
			if isBatch && errors.As(err, &e) {
				err = &events.Error{Path: fmt.Sprintf("batch[%d].%s", i, e.Path), Reason: e.Reason}
			}
			return nil, status, err
		}
	}
	return envs, http.StatusOK, nil
}

// stripInfo drops the "info" parameter Pusher SDKs may send (attributes to
// return about the channels): herald answers {} and never returns channel
// information, and envelopes do not carry it.
func stripInfo(probe map[string]json.RawMessage) ([]byte, error) {
	delete(probe, "info")
	if raw, ok := probe["batch"]; ok {
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, &events.Error{Path: "batch", Reason: "must be an array of events"}
		}
		for _, it := range items {
			delete(it, "info")
		}
		b, err := json.Marshal(items)
		if err != nil {
			return nil, err
		}
		probe["batch"] = b
	}
	return json.Marshal(probe)
}

// broadcast delivers the envelopes now (direct mode).
func (h *Handler) broadcast(ctx context.Context, envs []events.Envelope) (int, error) {
	// One item: its Retry is the 503, so Run's ErrNothingDelivered adds
	// nothing.
	results, _ := h.core.Run(ctx, []delivery.Item{{ID: requestID(ctx), Envelopes: envs, Sent: arrival(ctx)}})
	out := results[0]
	switch out.Status {
	case delivery.Delivered:
		return http.StatusOK, nil
	case delivery.Retry:
		return http.StatusServiceUnavailable, fmt.Errorf("broadcast failed, try again: %s", out.Reason)
	}
	var pe *broadcast.Error
	if errors.As(out.Err, &pe) && pe.Op == "validate" {
		// Refused by the driver before any request: the event cannot go
		// through this provider as it is.
		status := http.StatusBadRequest
		if pe.StatusCode == http.StatusRequestEntityTooLarge {
			status = pe.StatusCode
		}
		return status, fmt.Errorf("the %s driver cannot broadcast this event: %v", pe.Provider, pe.Err)
	}
	if errors.As(out.Err, &pe) && (pe.StatusCode == http.StatusBadRequest || pe.StatusCode == http.StatusRequestEntityTooLarge) {
		return pe.StatusCode, errors.New(out.Reason)
	}
	if errors.Is(out.Err, events.ErrInvalid) {
		return http.StatusBadRequest, errors.New(out.Reason)
	}
	return http.StatusBadGateway, errors.New(out.Reason)
}

// enqueue sends one SQS message per envelope (queue mode) and answers once
// all are queued. When only some are, the answer is 503 and the SDK's retry
// queues the whole request again: the queue function may then broadcast
// some events twice, never none.
func (h *Handler) enqueue(ctx context.Context, envs []events.Envelope) (int, error) {
	msgs := make([]sqsbatch.Message, len(envs))
	for i := range envs {
		b, err := json.Marshal(envs[i])
		if err != nil {
			return http.StatusInternalServerError, fmt.Errorf("encoding event %d: %w", i, err)
		}
		msgs[i] = sqsbatch.Message{Body: string(b)}
	}
	failed := 0
	var first error
	senderFault := false
	for _, err := range sqsbatch.Send(ctx, h.queue, h.cfg.QueueURL, msgs, 3) {
		if err == nil {
			continue
		}
		failed++
		if first == nil {
			first = err
		}
		var se *sqsbatch.Error
		if errors.As(err, &se) && se.SenderFault {
			senderFault = true
		}
	}
	if failed == 0 {
		return http.StatusOK, nil
	}
	status := http.StatusServiceUnavailable
	if senderFault {
		status = http.StatusInternalServerError
	}
	return status, fmt.Errorf("%d of %d events could not be queued on BROADCAST_QUEUE_URL's queue: %v", failed, len(envs), first)
}

// requestID is the identity of a direct-mode request, the fallback id of
// its messages: API Gateway's request id, or a random one.
func requestID(ctx context.Context) string {
	if rc, ok := httpapi.RequestContext(ctx); ok && rc.RequestID != "" {
		return rc.RequestID
	}
	var b [12]byte
	rand.Read(b[:])
	return "publish-" + hex.EncodeToString(b[:])
}
