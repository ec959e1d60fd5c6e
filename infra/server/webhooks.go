package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// Webhook events, Pusher's names.
const (
	whChannelOccupied = "channel_occupied"
	whChannelVacated  = "channel_vacated"
	whMemberAdded     = "member_added"
	whMemberRemoved   = "member_removed"
	whClientEvent     = "client_event"
)

// DefaultWebhookBatch is how long events gather before one webhook request
// carries them, as Pusher batches what happens close together.
const DefaultWebhookBatch = 50 * time.Millisecond

// webhookAttempts is how many times a request is sent before its events
// are given up, with doubling waits from webhookRetryWait: a few seconds
// in all (Pusher retries for five minutes; a local run has no such patience).
const (
	webhookAttempts  = 5
	webhookRetryWait = 200 * time.Millisecond
)

// whEvent is one webhook event as it happened.
type whEvent struct {
	Name     string
	Channel  string
	UserID   string
	Event    string
	Data     string
	SocketID string
	At       time.Time
}

// webhooks posts one app's webhooks, signed with its credentials, to url:
// Pusher's shape and headers, or Ably's batched, enveloped integration
// shape for the Ably app. Events queue under their own lock (the hub's is
// held when they happen) and one goroutine sends them in order, batched.
type webhooks struct {
	url    string
	ably   bool
	app    App
	batch  time.Duration
	client *http.Client
	log    *slog.Logger

	mu      sync.Mutex
	pending []whEvent
	wake    chan struct{}
}

// startWebhooks starts the sender of each hub whose app has a webhook URL.
func (s *Server) startWebhooks() {
	for _, h := range s.byID {
		url, ably := s.cfg.WebhookURL, false
		if s.cfg.Ably != nil {
			if app, _ := s.cfg.Ably.app(); app.ID == h.app.ID {
				url, ably = s.cfg.Ably.WebhookURL, true
			}
		}
		if url == "" {
			continue
		}
		w := &webhooks{
			url: url, ably: ably, app: h.app, batch: s.cfg.WebhookBatch,
			client: &http.Client{Timeout: 10 * time.Second},
			log:    s.log.With("app", h.app.ID, "webhook", url),
			wake:   make(chan struct{}, 1),
		}
		h.webhooks = w
		go w.run(s.ctx)
	}
}

// add queues an event; it never blocks.
func (w *webhooks) add(e whEvent) {
	if w == nil {
		return
	}
	e.At = time.Now()
	w.mu.Lock()
	w.pending = append(w.pending, e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *webhooks) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		// Gather what happens within the batch window into one request.
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.batch):
		}
		w.mu.Lock()
		evs := w.pending
		w.pending = nil
		w.mu.Unlock()
		if len(evs) > 0 {
			w.send(ctx, evs)
		}
	}
}

// send posts evs, retrying failures, in order: nothing later is sent
// before it.
func (w *webhooks) send(ctx context.Context, evs []whEvent) {
	body, header := w.encode(evs)
	wait := webhookRetryWait
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, body, header)
		if err == nil {
			return
		}
		if attempt == webhookAttempts || ctx.Err() != nil {
			w.log.Warn("webhook given up", "events", len(evs), "attempts", attempt, "error", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (w *webhooks) post(ctx context.Context, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = header.Clone()
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// encode renders evs as the provider sends them, with the signing headers.
func (w *webhooks) encode(evs []whEvent) ([]byte, http.Header) {
	h := http.Header{"Content-Type": {"application/json"}}
	if w.ably {
		body := ablyWebhookBody(evs)
		h.Set("X-Ably-Version", "1.2")
		h.Set("X-Ably-Key", w.app.Key) // the key's name, appId.keyId
		h.Set("X-Ably-Signature", signature.AblyWebhook(w.app.Secret, body))
		return body, h
	}
	body := pusherWebhookBody(evs)
	h.Set("X-Pusher-Key", w.app.Key)
	h.Set("X-Pusher-Signature", signature.Webhook(w.app.Secret, body))
	return body, h
}

// pusherWebhookBody is Pusher's {"time_ms", "events"}: one time for the
// request, the time it is sent.
func pusherWebhookBody(evs []whEvent) []byte {
	out := protocol.Webhook{TimeMS: evs[len(evs)-1].At.UnixMilli()}
	for _, e := range evs {
		out.Events = append(out.Events, protocol.WebhookEvent{Name: e.Name, Channel: e.Channel, UserID: e.UserID, Event: e.Event, Data: e.Data, SocketID: e.SocketID})
	}
	b, _ := json.Marshal(out)
	return b
}

// ablyWebhookBody is a batched, enveloped Ably integration request:
// channel.lifecycle items for occupied and vacated channels,
// channel.presence items for members, on the Ably channels Ably's Pusher
// adapter maps the Pusher channels to. Ably's webhooks have no client
// events; they are left out.
func ablyWebhookBody(evs []whEvent) []byte {
	type presence struct {
		ID           string `json:"id"`
		ClientID     string `json:"clientId"`
		ConnectionID string `json:"connectionId"`
		Timestamp    int64  `json:"timestamp"`
		Action       int    `json:"action"`
	}
	type item struct {
		WebhookID string         `json:"webhookId"`
		Source    string         `json:"source"`
		Serial    string         `json:"serial"`
		Timestamp int64          `json:"timestamp"`
		Name      string         `json:"name"`
		Data      map[string]any `json:"data"`
	}
	out := struct {
		Items []item `json:"items"`
	}{Items: []item{}}
	for i, e := range evs {
		ch, err := protocol.AblyChannel(e.Channel)
		if err != nil {
			continue // no Ably channel through the adapter
		}
		ms := e.At.UnixMilli()
		it := item{WebhookID: "local", Serial: strconv.FormatInt(ms, 10) + ":" + strconv.Itoa(i), Timestamp: ms}
		switch e.Name {
		case whChannelOccupied, whChannelVacated:
			it.Source, it.Name = "channel.lifecycle", "channel.opened"
			if e.Name == whChannelVacated {
				it.Name = "channel.closed"
			}
			it.Data = map[string]any{"channelId": ch, "name": ch, "status": map[string]any{"isActive": e.Name == whChannelOccupied}}
		case whMemberAdded, whMemberRemoved:
			action := 2 // enter
			if e.Name == whMemberRemoved {
				action = 3 // leave
			}
			it.Source, it.Name = "channel.presence", "presence.message"
			it.Data = map[string]any{"channelId": ch, "site": "local", "presence": []presence{{
				ID: it.Serial, ClientID: e.UserID, ConnectionID: "local", Timestamp: ms, Action: action,
			}}}
		default:
			continue
		}
		out.Items = append(out.Items, it)
	}
	b, _ := json.Marshal(out)
	return b
}
