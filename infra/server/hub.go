package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/heraldrt/herald/shared/protocol"
)

// hub holds one app's connections, channels and signed-in users. One mutex
// guards all of it, and the per-connection fields documented as such: every
// operation is short, and sends under the lock never block (see
// conn.enqueue), so a slow client cannot hold the hub.
type hub struct {
	app App
	cfg *Config
	log *slog.Logger

	mu       sync.RWMutex
	conns    map[string]*conn              // by socket id
	channels map[string]*channelState      // occupied channels only
	users    map[string]map[*conn]struct{} // signed-in user id -> connections
}

// channelState is one occupied channel.
type channelState struct {
	subs map[*conn]struct{}
	// members is set on presence channels: one member per user id however
	// many connections subscribe as that user.
	members map[string]*member
}

func newHub(app App, cfg *Config, log *slog.Logger) *hub {
	return &hub{
		app:      app,
		cfg:      cfg,
		log:      log.With("app", app.ID),
		conns:    map[string]*conn{},
		channels: map[string]*channelState{},
		users:    map[string]map[*conn]struct{}{},
	}
}

// add registers a connection; false when its socket id is taken.
func (h *hub) add(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, taken := h.conns[c.socketID]; taken {
		return false
	}
	h.conns[c.socketID] = c
	return true
}

// remove forgets a connection: its subscriptions end (presence members it
// was the last connection of are announced as removed) and its sign-in with
// them.
func (h *hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[c.socketID] != c {
		return
	}
	delete(h.conns, c.socketID)
	for name := range c.channels {
		h.unsubscribeLocked(c, name)
	}
	if c.userID != "" {
		if set := h.users[c.userID]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(h.users, c.userID)
			}
		}
	}
}

// subscribe adds c to a channel whose authorization the caller has checked,
// confirms it to c and, on presence channels, announces a new member to the
// others. pm is the member for presence channels, nil otherwise. It returns
// a frame refusing the subscription, or nil.
func (h *hub) subscribe(c *conn, name string, pm *presenceMember) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if protocol.KindOf(name) == protocol.User && protocol.Base(name) != c.userID {
		return subscriptionErrorFrame(name, "AuthError", "Not signed in as the user of "+name, 401)
	}
	if _, already := c.channels[name]; already {
		// pusher-js resubscribes after a reconnect on a new socket; the
		// same socket asking twice gets the same answer again.
		c.enqueue(h.succeededFrameLocked(name))
		return nil
	}
	ch := h.channels[name]
	if ch == nil {
		ch = &channelState{subs: map[*conn]struct{}{}}
		if protocol.KindOf(name) == protocol.Presence {
			ch.members = map[string]*member{}
		}
	}
	userID := ""
	var added *member
	if ch.members != nil {
		if pm == nil {
			return subscriptionErrorFrame(name, "AuthError", "Presence subscription without channel_data", 401)
		}
		userID = pm.UserID
		m := ch.members[userID]
		if m == nil {
			if len(ch.members) >= h.cfg.MaxPresenceMembers {
				return subscriptionErrorFrame(name, "LimitReached", "Cannot subscribe: presence channel member limit reached", 403)
			}
			m = &member{id: userID, info: pm.UserInfo}
			ch.members[userID] = m
			added = m
		}
		m.conns++
	}
	h.channels[name] = ch
	ch.subs[c] = struct{}{}
	c.channels[name] = userID
	c.enqueue(h.succeededFrameLocked(name))
	if added != nil {
		h.sendLocked(ch, eventFrame(name, evMemberAdded, mustJSON(added.wire()), ""), c)
	}
	return nil
}

// unsubscribe removes c from a channel; unknown channels are ignored, as
// Pusher ignores them.
func (h *hub) unsubscribe(c *conn, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unsubscribeLocked(c, name)
}

func (h *hub) unsubscribeLocked(c *conn, name string) {
	userID, ok := c.channels[name]
	if !ok {
		return
	}
	delete(c.channels, name)
	ch := h.channels[name]
	if ch == nil {
		return
	}
	delete(ch.subs, c)
	if ch.members != nil {
		if m := ch.members[userID]; m != nil {
			m.conns--
			if m.conns <= 0 {
				delete(ch.members, userID)
				h.sendLocked(ch, eventFrame(name, evMemberRemoved, mustJSON(memberRemoved{UserID: userID}), ""), nil)
			}
		}
	}
	if len(ch.subs) == 0 {
		delete(h.channels, name)
	}
}

// succeededFrameLocked confirms a subscription; on presence channels it
// carries the member list.
func (h *hub) succeededFrameLocked(name string) []byte {
	data := "{}"
	if ch := h.channels[name]; ch != nil && ch.members != nil {
		data = mustJSON(presenceData{Presence: presenceList(ch.members)})
	}
	return eventFrame(name, evSubscriptionSucceeded, data, "")
}

// sendLocked queues frame to every subscriber of ch but except.
func (h *hub) sendLocked(ch *channelState, frame []byte, except *conn) int {
	n := 0
	for c := range ch.subs {
		if c != except && c.enqueue(frame) {
			n++
		}
	}
	return n
}

// publish delivers an event to a channel's subscribers, except the
// connection with socket id exceptSocketID. It returns how many connections
// the event was queued for. An event on a channel nobody subscribes to is
// logged (see unheard).
func (h *hub) publish(name, event, data, exceptSocketID string) int {
	n, occupied := h.fanout(name, event, data, exceptSocketID)
	if !occupied {
		h.unheard(name, event)
	}
	return n
}

func (h *hub) fanout(name, event, data, exceptSocketID string) (n int, occupied bool) {
	frame := eventFrame(name, event, data, "")
	h.mu.RLock()
	defer h.mu.RUnlock()
	ch := h.channels[name]
	if ch == nil {
		return 0, false
	}
	var except *conn
	if exceptSocketID != "" {
		except = h.conns[exceptSocketID]
	}
	return h.sendLocked(ch, frame, except), true
}

// unheard logs an event that reached no subscriber. A public channel's
// name without the private- or presence- prefix its subscribers use is the
// usual cause (an event sent to App.Models.User.42 while the browser listens
// on private-App.Models.User.42), so such a channel is named in a hint.
func (h *hub) unheard(name, event string) {
	attrs := []any{"channel", name, "event", event}
	if protocol.KindOf(name) == protocol.Public {
		for _, k := range []protocol.Kind{protocol.Private, protocol.Presence} {
			if n := h.channelInfo(k.Prefix() + name).SubscriptionCount; n > 0 {
				attrs = append(attrs, "hint", fmt.Sprintf("%s%s has %d subscriber(s): did the event mean that channel?", k.Prefix(), name, n))
			}
		}
	}
	h.log.Info("event reached no subscriber", attrs...)
}

// clientEvent relays a client-* event from c to the channel's other
// subscribers. The caller has checked the channel kind and the rate limit.
// It reports false when c is not subscribed to the channel.
func (h *hub) clientEvent(c *conn, name, event string, data json.RawMessage) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	userID, ok := c.channels[name]
	if !ok {
		return false
	}
	ch := h.channels[name]
	if ch == nil {
		return false
	}
	frame := encodeFrame(outFrame{Event: event, Channel: name, Data: data, UserID: userID})
	h.sendLocked(ch, frame, c)
	return true
}

// signin records that c is signed in as userID.
func (h *hub) signin(c *conn, userID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.userID == userID {
		return
	}
	if c.userID != "" {
		// A new sign-in replaces the old one, and with it the right to the
		// old user's channel.
		h.unsubscribeLocked(c, protocol.UserChannel(c.userID))
		if set := h.users[c.userID]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(h.users, c.userID)
			}
		}
	}
	c.userID = userID
	set := h.users[userID]
	if set == nil {
		set = map[*conn]struct{}{}
		h.users[userID] = set
	}
	set[c] = struct{}{}
}

// terminate closes every connection signed in as userID.
func (h *hub) terminate(userID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.users[userID] {
		c.close(CodeUnauthorized, "connection terminated by the application")
	}
	return len(h.users[userID])
}

// closeAll closes every connection with code.
func (h *hub) closeAll(code int, reason string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, c := range h.conns {
		c.close(code, reason)
	}
}

// ChannelInfo describes an occupied channel, as the HTTP API reports it.
type ChannelInfo struct {
	Name              string
	SubscriptionCount int
	// UserCount is the number of distinct presence members; zero on other
	// channels.
	UserCount int
}

// channelsInfo lists occupied channels whose name starts with prefix, in
// name order.
func (h *hub) channelsInfo(prefix string) []ChannelInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []ChannelInfo
	for name, ch := range h.channels {
		if strings.HasPrefix(name, prefix) {
			out = append(out, ChannelInfo{Name: name, SubscriptionCount: len(ch.subs), UserCount: len(ch.members)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// channelInfo describes one channel; an unoccupied channel has zero counts.
func (h *hub) channelInfo(name string) ChannelInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	info := ChannelInfo{Name: name}
	if ch := h.channels[name]; ch != nil {
		info.SubscriptionCount = len(ch.subs)
		info.UserCount = len(ch.members)
	}
	return info
}

// presenceUsers lists the user ids of a presence channel's members, sorted.
func (h *hub) presenceUsers(name string) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ch := h.channels[name]
	if ch == nil {
		return nil
	}
	ids := make([]string, 0, len(ch.members))
	for id := range ch.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// presenceMembers lists a presence channel's members, by user id.
func (h *hub) presenceMembers(name string) []member {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ch := h.channels[name]
	if ch == nil {
		return nil
	}
	out := make([]member, 0, len(ch.members))
	for _, m := range ch.members {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// connections counts the app's connections.
func (h *hub) connections() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}
