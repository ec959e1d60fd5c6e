package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// serveWebSocket handles ws://host/app/{key}?protocol=7: it refuses unknown
// keys and protocol versions with Pusher's codes, announces the socket id,
// then reads and dispatches frames until the connection ends.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Pusher accepts connections from any page; so does a local stand-in.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		s.log.Debug("websocket upgrade failed", "err", err)
		return
	}
	refuse := func(code int, msg string) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.WriteTimeout)
		defer cancel()
		_ = ws.Write(ctx, websocket.MessageText, errorFrame(code, msg))
		ws.Close(websocket.StatusCode(code), closeReason(msg))
	}
	h := s.byKey[r.PathValue("key")]
	switch p := r.URL.Query().Get("protocol"); {
	case h == nil:
		s.log.Info("refused connection for unknown app key")
		refuse(CodeAppNotFound, "App key "+r.PathValue("key")+" not in this cluster. Did you forget to specify the cluster?")
		return
	case p == "":
		refuse(CodeNoProtocol, "No protocol version supplied")
		return
	case p != Protocol:
		refuse(CodeUnsupportedProtocol, "Unsupported protocol version "+p)
		return
	}
	if !s.track() {
		refuse(CodeReconnect, "Server is shutting down")
		return
	}
	defer s.conns.Done()

	// The connection's context ends with the server's, or when a write to
	// a slow client has to be abandoned.
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	ws.SetReadLimit(int64(s.cfg.MaxEventBytes) + 4096)

	var c *conn
	for {
		c = newConn(s, h, ws, newSocketID(), cancel)
		if h.add(c) {
			break
		}
	}
	c.log.Debug("connected", "remote", r.RemoteAddr)
	if s.isClosing() {
		// Drain may have closed the others before this one was added.
		c.close(CodeReconnect, "Server is shutting down")
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(ctx)
	}()
	c.enqueue(eventFrame("", evConnectionEstablished, mustJSON(struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}{c.socketID, int(s.cfg.ActivityTimeout / time.Second)}), ""))

	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			break
		}
		c.lastSeen.Store(time.Now().UnixNano())
		if typ != websocket.MessageText {
			c.enqueue(errorFrame(0, "Binary messages are not supported"))
			continue
		}
		c.dispatch(data)
	}
	h.remove(c)
	c.close(int(websocket.StatusNormalClosure), "")
	<-writerDone
	c.log.Debug("disconnected")
}

// newSocketID returns a fresh id in Pusher's "digits.digits" form.
func newSocketID() string {
	return fmt.Sprintf("%d.%d", rand.Uint32N(1_000_000_000), rand.Uint32N(1_000_000_000))
}

// dispatch handles one frame from the client. It never blocks: replies and
// relayed events go through send queues.
func (c *conn) dispatch(data []byte) {
	f, err := decodeFrame(data)
	if err != nil {
		c.enqueue(errorFrame(0, "Invalid message: "+err.Error()))
		return
	}
	switch f.Event {
	case evPing:
		c.enqueue(encodeFrame(outFrame{Event: evPong, Data: struct{}{}}))
	case evPong:
		// Reading it already counted as activity.
	case evSubscribe:
		c.subscribe(f)
	case evUnsubscribe:
		var d struct {
			Channel string `json:"channel"`
		}
		if decodeData(f.Data, &d) != nil {
			c.enqueue(errorFrame(0, "Invalid unsubscribe data"))
			return
		}
		c.hub.unsubscribe(c, d.Channel)
	case evSignin:
		c.signin(f)
	default:
		if strings.HasPrefix(f.Event, clientEventPrefix) {
			c.clientEvent(f)
			return
		}
		// Pusher ignores events it does not know, so newer clients keep
		// working against older servers.
		c.log.Debug("ignored unknown event", "event", f.Event)
	}
}

// subscribe checks a pusher:subscribe against the channel's rules and the
// app secret and hands it to the hub.
func (c *conn) subscribe(f inFrame) {
	var d struct {
		Channel     string `json:"channel"`
		Auth        string `json:"auth"`
		ChannelData string `json:"channel_data"`
	}
	if err := decodeData(f.Data, &d); err != nil {
		c.enqueue(errorFrame(0, "Invalid subscribe data"))
		return
	}
	name := d.Channel
	if err := protocol.ValidateChannel(name); err != nil {
		c.enqueue(subscriptionErrorFrame(name, "InvalidChannel", err.Error(), 400))
		return
	}
	app := c.hub.app
	var pm *presenceMember
	switch protocol.KindOf(name) {
	case protocol.Private, protocol.PrivateEncrypted:
		if !signature.VerifyAuth(d.Auth, app.Key, app.Secret, signature.ChannelString(c.socketID, name, "")) {
			c.refuseAuth(name)
			return
		}
	case protocol.Presence:
		if !signature.VerifyAuth(d.Auth, app.Key, app.Secret, signature.ChannelString(c.socketID, name, d.ChannelData)) {
			c.refuseAuth(name)
			return
		}
		m, err := parseChannelData(d.ChannelData)
		if err != nil {
			c.enqueue(subscriptionErrorFrame(name, "AuthError", "Invalid channel_data: "+err.Error(), 400))
			return
		}
		pm = m
	}
	if refusal := c.hub.subscribe(c, name, pm); refusal != nil {
		c.log.Info("subscription refused", "channel", name)
		c.enqueue(refusal)
	}
}

func (c *conn) refuseAuth(name string) {
	c.log.Info("subscription refused: bad signature", "channel", name)
	c.enqueue(subscriptionErrorFrame(name, "AuthError", "Invalid signature for channel "+name, 401))
}

// signin verifies a pusher:signin. A bad signature closes the connection
// with 4009, as Pusher does.
func (c *conn) signin(f inFrame) {
	var d struct {
		Auth     string `json:"auth"`
		UserData string `json:"user_data"`
	}
	if err := decodeData(f.Data, &d); err != nil {
		c.closeWith(CodeUnauthorized, "Invalid signin data")
		return
	}
	app := c.hub.app
	if !signature.VerifyAuth(d.Auth, app.Key, app.Secret, signature.UserString(c.socketID, d.UserData)) {
		c.log.Info("signin refused: bad signature")
		c.closeWith(CodeUnauthorized, "Invalid signature for signin")
		return
	}
	var user struct {
		ID any `json:"id"`
	}
	if err := json.Unmarshal([]byte(d.UserData), &user); err != nil {
		c.closeWith(CodeUnauthorized, "user_data is not a JSON object")
		return
	}
	id, ok := user.ID.(string)
	if !ok || id == "" {
		c.closeWith(CodeUnauthorized, "user_data must have a non-empty string id")
		return
	}
	if len(id) > protocol.MaxUserIDLength || protocol.ValidateChannel(protocol.UserChannel(id)) != nil {
		c.closeWith(CodeUnauthorized, "user_data id is too long or has characters channel names cannot carry")
		return
	}
	c.hub.signin(c, id)
	c.enqueue(encodeFrame(outFrame{Event: evSigninSuccess, Data: struct {
		UserData string `json:"user_data"`
	}{d.UserData}}))
}

// clientEvent relays a client-* event under Pusher's rules: private and
// presence channels only, not encrypted ones, only to channels the sender
// is subscribed to, never back to the sender, at most
// ClientEventsPerSecond a second.
func (c *conn) clientEvent(f inFrame) {
	switch protocol.KindOf(f.Channel) {
	case protocol.Private, protocol.Presence:
	case protocol.PrivateEncrypted:
		c.enqueue(errorFrame(0, "Client event rejected - not supported on encrypted channels"))
		return
	default:
		c.enqueue(errorFrame(0, "Client event rejected - only supported on private and presence channels"))
		return
	}
	if len(f.Event) > protocol.MaxEventNameLength {
		c.enqueue(errorFrame(0, fmt.Sprintf("Client event rejected - event name longer than %d characters", protocol.MaxEventNameLength)))
		return
	}
	if len(f.Data) > c.srv.cfg.MaxEventBytes {
		c.enqueue(errorFrame(0, fmt.Sprintf("Client event rejected - data larger than %d bytes", c.srv.cfg.MaxEventBytes)))
		return
	}
	if !c.limiter.allow(time.Now()) {
		c.enqueue(errorFrame(CodeClientEventRateLimit, "Client event rejected due to rate limit"))
		return
	}
	if !c.hub.clientEvent(c, f.Channel, f.Event, f.Data) {
		c.enqueue(errorFrame(0, "Client event rejected - not subscribed to channel "+f.Channel))
	}
}
