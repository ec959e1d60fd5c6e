package publish

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/protocol"
)

// The query routes answer from the provider, in Pusher's shapes, in both
// modes: there is nothing to queue about a question.

// channels is GET /apps/{app_id}/channels.
func (h *Handler) channels(w http.ResponseWriter, r *http.Request, route string, _ []byte) {
	q := r.URL.Query()
	prefix := q.Get("filter_by_prefix")
	info, err := protocol.ParseInfo(q.Get("info"))
	if err == nil {
		err = protocol.CheckInfo(info, prefix)
	}
	if err != nil {
		h.refuse(w, r, route, http.StatusBadRequest, err.Error())
		return
	}
	if !h.canQuery(w, r, route) {
		return
	}
	chans, err := h.query.Channels(r.Context(), prefix, info)
	if err != nil {
		h.providerError(w, r, route, err)
		return
	}
	h.log.InfoContext(r.Context(), "channel query", "route", route, "prefix", prefix, "channels", len(chans))
	writeJSON(w, map[string]any{"channels": chans})
}

// channel is GET /apps/{app_id}/channels/{channel_name}.
func (h *Handler) channel(w http.ResponseWriter, r *http.Request, route string, _ []byte) {
	name := r.PathValue("channel")
	info, err := protocol.ParseInfo(r.URL.Query().Get("info"))
	if err == nil {
		err = protocol.ValidateChannel(name)
	}
	if err == nil {
		err = protocol.CheckInfo(info, name)
	}
	if err != nil {
		h.refuse(w, r, route, http.StatusBadRequest, err.Error())
		return
	}
	if !h.canQuery(w, r, route) {
		return
	}
	st, err := h.query.Channel(r.Context(), name, info)
	if err != nil {
		h.providerError(w, r, route, err)
		return
	}
	h.log.InfoContext(r.Context(), "channel query", "route", route, "channel", name, "occupied", st.Occupied)
	writeJSON(w, st)
}

// users is GET /apps/{app_id}/channels/{channel_name}/users.
func (h *Handler) users(w http.ResponseWriter, r *http.Request, route string, _ []byte) {
	name := r.PathValue("channel")
	err := protocol.ValidateChannel(name)
	if err == nil && protocol.KindOf(name) != protocol.Presence {
		err = fmt.Errorf("%q: users can only be listed for presence- channels", name)
	}
	if err != nil {
		h.refuse(w, r, route, http.StatusBadRequest, err.Error())
		return
	}
	if !h.canQuery(w, r, route) {
		return
	}
	ids, err := h.query.Users(r.Context(), name)
	if err != nil {
		h.providerError(w, r, route, err)
		return
	}
	type user struct {
		ID string `json:"id"`
	}
	users := make([]user, len(ids))
	for i, id := range ids {
		users[i] = user{id}
	}
	h.log.InfoContext(r.Context(), "channel query", "route", route, "channel", name, "users", len(users))
	writeJSON(w, map[string]any{"users": users})
}

// terminate is POST /apps/{app_id}/users/{user_id}/terminate_connections.
func (h *Handler) terminate(w http.ResponseWriter, r *http.Request, route string, _ []byte) {
	user := r.PathValue("user")
	if err := protocol.ValidateChannel(protocol.UserChannel(user)); err != nil || len(user) > protocol.MaxUserIDLength {
		h.refuse(w, r, route, http.StatusBadRequest, fmt.Sprintf("user id %q is not one Pusher accepts (1 to %d characters of %s)", user, protocol.MaxUserIDLength, "A-Z a-z 0-9 _ - = @ , . ;"))
		return
	}
	if !h.canQuery(w, r, route) {
		return
	}
	if err := h.query.TerminateUser(r.Context(), user); err != nil {
		h.providerError(w, r, route, err)
		return
	}
	h.log.InfoContext(r.Context(), "terminated user connections", "route", route, "user_id", user)
	writeJSON(w, struct{}{})
}

// canQuery answers 501 when there is no provider to ask.
func (h *Handler) canQuery(w http.ResponseWriter, r *http.Request, route string) bool {
	if h.query != nil {
		return true
	}
	h.refuse(w, r, route, http.StatusNotImplemented, h.noQuery.Error())
	return false
}

// providerError answers a failed query: the provider's refusal of the
// request itself (400, 404, 413) passes on with its status; 501 is what the
// provider cannot do; the provider refusing herald's credentials (401,
// 403) or failing is a 502, or a 503 when a retry may succeed, so the
// caller never takes the provider's 401 for a fault in its own signature.
func (h *Handler) providerError(w http.ResponseWriter, r *http.Request, route string, err error) {
	status := http.StatusBadGateway
	var be *broadcast.Error
	if errors.As(err, &be) {
		switch {
		case be.StatusCode == http.StatusNotImplemented:
			status = be.StatusCode
		case be.StatusCode == http.StatusBadRequest, be.StatusCode == http.StatusNotFound, be.StatusCode == http.StatusRequestEntityTooLarge:
			status = be.StatusCode
		case be.StatusCode == http.StatusUnauthorized, be.StatusCode == http.StatusForbidden:
			status = http.StatusBadGateway
		case be.Temporary:
			status = http.StatusServiceUnavailable
		}
	}
	h.refuse(w, r, route, status, err.Error())
}
