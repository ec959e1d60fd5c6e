package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// maxRequestBody bounds what the HTTP API reads: ten events of 10 KB with
// room for names and channel lists.
const maxRequestBody = 1 << 20

// apiError is a refusal of the Pusher HTTP API: a status and a plain text
// message, as Pusher answers.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// pusherAPI wraps an HTTP API handler: unknown app ids are 404, a request
// whose signature does not verify against the app's key and secret is 401
// (shared/signature decides, the same code the publish function uses).
func (s *Server) pusherAPI(next func(r *http.Request, h *hub, body []byte) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := s.byID[r.PathValue("app")]
		if h == nil {
			writeText(w, http.StatusNotFound, "Unknown app id")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeText(w, http.StatusRequestEntityTooLarge, "Request body too large")
				return
			}
			writeText(w, http.StatusBadRequest, "Reading request body failed")
			return
		}
		secretFor := func(key string) (string, bool) {
			if key == h.app.Key {
				return h.app.Secret, true
			}
			return "", false
		}
		if err := signature.VerifyRequest(r.Method, r.URL.Path, r.URL.Query(), body, secretFor, time.Now()); err != nil {
			h.log.Info("refused HTTP API request", "method", r.Method, "path", r.URL.Path, "reason", err.Error())
			writeText(w, http.StatusUnauthorized, err.Error())
			return
		}
		out, err := next(r, h, body)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = &apiError{http.StatusInternalServerError, "Internal error"}
				h.log.Error("HTTP API request failed", "path", r.URL.Path, "err", err)
			}
			writeText(w, ae.status, ae.msg)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// apiEvent is one event of /events (Channels or Channel) or of
// /batch_events (Channel).
type apiEvent struct {
	Name     string          `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channels []string        `json:"channels"`
	Channel  string          `json:"channel"`
	SocketID string          `json:"socket_id"`
	Info     string          `json:"info"`
}

// checkedEvent is an apiEvent that passed Pusher's rules.
type checkedEvent struct {
	name, data, socketID string
	channels             []string
	info                 infoAttrs
}

type infoAttrs struct{ subscriptionCount, userCount bool }

// parseInfo reads an info parameter (protocol.ParseInfo) for channels.
func parseInfo(s string, channels []string) (infoAttrs, error) {
	i, err := protocol.ParseInfo(s)
	if err != nil {
		return infoAttrs{}, badRequest("%v", err)
	}
	for _, c := range channels {
		if err := protocol.CheckInfo(i, c); err != nil {
			return infoAttrs{}, badRequest("%v", err)
		}
	}
	return infoAttrs{subscriptionCount: i.SubscriptionCount, userCount: i.UserCount}, nil
}

// check applies Pusher's limits to one event.
func (s *Server) check(e apiEvent, batch bool) (checkedEvent, error) {
	var c checkedEvent
	if e.Name == "" {
		return c, badRequest("Event name is required")
	}
	if len(e.Name) > protocol.MaxEventNameLength {
		return c, badRequest("Event name is %d bytes, the limit is %d", len(e.Name), protocol.MaxEventNameLength)
	}
	if len(e.Data) == 0 || e.Data[0] != '"' {
		return c, badRequest("Event data must be a string")
	}
	if err := json.Unmarshal(e.Data, &c.data); err != nil {
		return c, badRequest("Event data must be a string")
	}
	if len(c.data) > s.cfg.MaxEventBytes {
		return c, &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("Event data is %d bytes, the limit is %d", len(c.data), s.cfg.MaxEventBytes)}
	}
	switch {
	case batch && len(e.Channels) > 0:
		return c, badRequest("Batch events name one channel each, in channel")
	case e.Channel != "" && len(e.Channels) > 0:
		return c, badRequest("Give channel or channels, not both")
	case e.Channel != "":
		c.channels = []string{e.Channel}
	default:
		c.channels = e.Channels
	}
	if len(c.channels) == 0 {
		return c, badRequest("At least one channel is required")
	}
	if len(c.channels) > protocol.MaxChannelsPerTrigger {
		return c, badRequest("%d channels given, the limit is %d", len(c.channels), protocol.MaxChannelsPerTrigger)
	}
	for _, name := range c.channels {
		if err := protocol.ValidateChannel(name); err != nil {
			return c, badRequest("Invalid channel name: %v", err)
		}
	}
	if e.SocketID != "" && !protocol.ValidSocketID(e.SocketID) {
		return c, badRequest("Invalid socket_id %q", e.SocketID)
	}
	c.name, c.socketID = e.Name, e.SocketID
	info, err := parseInfo(e.Info, c.channels)
	if err != nil {
		return c, err
	}
	c.info = info
	return c, nil
}

// channelAttrs is a channel's info in HTTP API answers; nil fields were not
// asked for.
type channelAttrs struct {
	SubscriptionCount *int `json:"subscription_count,omitempty"`
	UserCount         *int `json:"user_count,omitempty"`
}

func attrs(h *hub, name string, a infoAttrs) channelAttrs {
	info := h.channelInfo(name)
	var out channelAttrs
	if a.subscriptionCount {
		out.SubscriptionCount = &info.SubscriptionCount
	}
	if a.userCount {
		out.UserCount = &info.UserCount
	}
	return out
}

// triggerEvents is POST /apps/{id}/events.
func (s *Server) triggerEvents(r *http.Request, h *hub, body []byte) (any, error) {
	var e apiEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, badRequest("Request body is not a JSON event")
	}
	ev, err := s.check(e, false)
	if err != nil {
		return nil, err
	}
	for _, name := range ev.channels {
		h.publish(name, ev.name, ev.data, ev.socketID)
	}
	if ev.info == (infoAttrs{}) {
		return struct{}{}, nil
	}
	out := map[string]channelAttrs{}
	for _, name := range ev.channels {
		out[name] = attrs(h, name, ev.info)
	}
	return map[string]any{"channels": out}, nil
}

// triggerBatch is POST /apps/{id}/batch_events. Every event is checked
// before any is delivered, so a refused batch delivers nothing.
func (s *Server) triggerBatch(r *http.Request, h *hub, body []byte) (any, error) {
	var b struct {
		Batch []apiEvent `json:"batch"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, badRequest(`Request body is not {"batch": [events]}`)
	}
	if len(b.Batch) == 0 {
		return nil, badRequest("Batch is empty")
	}
	if len(b.Batch) > protocol.MaxBatchEvents {
		return nil, badRequest("Batch has %d events, the limit is %d", len(b.Batch), protocol.MaxBatchEvents)
	}
	evs := make([]checkedEvent, len(b.Batch))
	anyInfo := false
	for i, e := range b.Batch {
		ev, err := s.check(e, true)
		if err != nil {
			var ae *apiError
			errors.As(err, &ae)
			return nil, &apiError{ae.status, fmt.Sprintf("Batch event %d: %s", i, ae.msg)}
		}
		evs[i] = ev
		anyInfo = anyInfo || ev.info != (infoAttrs{})
	}
	for _, ev := range evs {
		h.publish(ev.channels[0], ev.name, ev.data, ev.socketID)
	}
	if !anyInfo {
		return struct{}{}, nil
	}
	out := make([]channelAttrs, len(evs))
	for i, ev := range evs {
		out[i] = attrs(h, ev.channels[0], ev.info)
	}
	return map[string]any{"batch": out}, nil
}

// listChannels is GET /apps/{id}/channels: occupied channels, optionally
// filtered by prefix, with user_count for presence prefixes.
func (s *Server) listChannels(r *http.Request, h *hub, _ []byte) (any, error) {
	q := r.URL.Query()
	prefix := q.Get("filter_by_prefix")
	a, err := parseInfo(q.Get("info"), nil)
	if err != nil {
		return nil, err
	}
	if err := protocol.CheckInfo(protocol.Info{UserCount: a.userCount}, prefix); err != nil {
		return nil, badRequest("%v", err)
	}
	out := map[string]channelAttrs{}
	for _, c := range h.channelsInfo(prefix) {
		var ca channelAttrs
		if a.userCount {
			n := c.UserCount
			ca.UserCount = &n
		}
		if a.subscriptionCount {
			n := c.SubscriptionCount
			ca.SubscriptionCount = &n
		}
		out[c.Name] = ca
	}
	return map[string]any{"channels": out}, nil
}

// showChannel is GET /apps/{id}/channels/{name}.
func (s *Server) showChannel(r *http.Request, h *hub, _ []byte) (any, error) {
	name := r.PathValue("channel")
	if err := protocol.ValidateChannel(name); err != nil {
		return nil, badRequest("Invalid channel name: %v", err)
	}
	a, err := parseInfo(r.URL.Query().Get("info"), []string{name})
	if err != nil {
		return nil, err
	}
	info := h.channelInfo(name)
	out := struct {
		Occupied bool `json:"occupied"`
		channelAttrs
	}{Occupied: info.SubscriptionCount > 0}
	if a.subscriptionCount {
		out.SubscriptionCount = &info.SubscriptionCount
	}
	if a.userCount {
		out.UserCount = &info.UserCount
	}
	return out, nil
}

// channelUsers is GET /apps/{id}/channels/{name}/users, presence channels
// only.
func (s *Server) channelUsers(r *http.Request, h *hub, _ []byte) (any, error) {
	name := r.PathValue("channel")
	if err := protocol.ValidateChannel(name); err != nil {
		return nil, badRequest("Invalid channel name: %v", err)
	}
	if protocol.KindOf(name) != protocol.Presence {
		return nil, badRequest("Users can only be listed for presence channels")
	}
	type user struct {
		ID string `json:"id"`
	}
	users := []user{}
	for _, id := range h.presenceUsers(name) {
		users = append(users, user{id})
	}
	return map[string]any{"users": users}, nil
}

// terminateUser is POST /apps/{id}/users/{user_id}/terminate_connections.
func (s *Server) terminateUser(r *http.Request, h *hub, _ []byte) (any, error) {
	id := r.PathValue("user")
	if id == "" || len(id) > protocol.MaxUserIDLength {
		return nil, badRequest("Invalid user id")
	}
	n := h.terminate(id)
	h.log.Info("terminated user connections", "user_id", id, "connections", n)
	return struct{}{}, nil
}
