package server

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/heraldrt/herald/shared/protocol"
)

// Ably's REST error codes herald relies on.
const (
	ablyBadRequest         = 40000
	ablyInvalidBody        = 40001
	ablyMessageTooLarge    = 40009
	ablyInvalidChannel     = 40010
	ablyInvalidEncoding    = 40013
	ablyUnauthorized       = 40100
	ablyInvalidCredentials = 40101
	ablyNotFound           = 40400

	contentJSON    = "application/json"
	contentMsgpack = "application/x-msgpack"
)

// ablyEndpoint serves the part of Ably's REST API that ably-go uses to
// publish, and hands each message to the Pusher side on the channel Ably's
// Pusher adapter would use.
type ablyEndpoint struct {
	srv     *Server
	hub     *hub
	keyName string
	secret  string
	dedup   *dedup
	serial  atomic.Uint64
}

func newAblyEndpoint(s *Server, h *hub, keyName, secret string) *ablyEndpoint {
	return &ablyEndpoint{srv: s, hub: h, keyName: keyName, secret: secret, dedup: newDedup(s.cfg.DedupWindow)}
}

// ablyError is Ably's error body: {"error": {message, code, statusCode}}.
type ablyError struct {
	Message    string `json:"message" msgpack:"message"`
	Code       int    `json:"code" msgpack:"code"`
	StatusCode int    `json:"statusCode" msgpack:"statusCode"`
	Href       string `json:"href,omitempty" msgpack:"href,omitempty"`
}

func (e *ablyError) Error() string { return e.Message }

func newAblyError(status, code int, format string, a ...any) *ablyError {
	return &ablyError{Message: fmt.Sprintf(format, a...), Code: code, StatusCode: status, Href: "https://help.ably.io/error/" + strconv.Itoa(code)}
}

// reply writes v in the format the client accepts (ably-go asks for
// MessagePack by default).
func reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	var body []byte
	var err error
	typ := contentJSON
	if strings.Contains(r.Header.Get("Accept"), contentMsgpack) {
		typ = contentMsgpack
		body, err = msgpack.Marshal(v)
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		http.Error(w, "encoding response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.WriteHeader(status)
	w.Write(body)
}

func replyError(w http.ResponseWriter, r *http.Request, e *ablyError) {
	w.Header().Set("X-Ably-Errorcode", strconv.Itoa(e.Code))
	w.Header().Set("X-Ably-Errormessage", e.Message)
	reply(w, r, e.StatusCode, map[string]any{"error": e})
}

// authorize checks HTTP basic auth against the configured key, in constant
// time.
func (a *ablyEndpoint) authorize(r *http.Request) *ablyError {
	name, secret, ok := r.BasicAuth()
	if !ok {
		return newAblyError(http.StatusUnauthorized, ablyUnauthorized, "Authentication required: basic auth with an API key")
	}
	nameOK := subtle.ConstantTimeCompare([]byte(name), []byte(a.keyName))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(a.secret))
	if nameOK&secretOK != 1 {
		return newAblyError(http.StatusUnauthorized, ablyInvalidCredentials, "Invalid credentials")
	}
	return nil
}

// readBody authorizes the request and decodes its JSON or MessagePack body
// into plain Go values.
func (a *ablyEndpoint) readBody(w http.ResponseWriter, r *http.Request) (any, *ablyError) {
	if e := a.authorize(r); e != nil {
		a.hub.log.Info("refused Ably request", "path", r.URL.Path, "reason", e.Message)
		return nil, e
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		return nil, newAblyError(http.StatusRequestEntityTooLarge, ablyMessageTooLarge, "Request body too large")
	}
	typ, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var v any
	switch typ {
	case contentJSON, "":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		err = dec.Decode(&v)
	case contentMsgpack:
		err = msgpack.Unmarshal(body, &v)
	default:
		return nil, newAblyError(http.StatusUnsupportedMediaType, ablyBadRequest, "Unsupported content type %q", typ)
	}
	if err != nil {
		return nil, newAblyError(http.StatusBadRequest, ablyInvalidBody, "Invalid request body: %v", err)
	}
	return v, nil
}

// ablyMessage is the part of an Ably message the server uses.
type ablyMessage struct {
	id, name, data string
}

// toMessages reads a message or an array of messages.
func toMessages(v any) ([]ablyMessage, *ablyError) {
	var items []any
	switch t := v.(type) {
	case []any:
		items = t
	case map[string]any:
		items = []any{t}
	default:
		return nil, newAblyError(http.StatusBadRequest, ablyInvalidBody, "Expected a message or an array of messages")
	}
	out := make([]ablyMessage, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, newAblyError(http.StatusBadRequest, ablyInvalidBody, "Message %d is not an object", i)
		}
		msg, e := toMessage(m)
		if e != nil {
			return nil, e
		}
		out = append(out, msg)
	}
	return out, nil
}

func toMessage(m map[string]any) (ablyMessage, *ablyError) {
	str := func(k string) (string, bool) {
		switch v := m[k].(type) {
		case nil:
			return "", true
		case string:
			return v, true
		}
		return "", false
	}
	id, ok1 := str("id")
	name, ok2 := str("name")
	enc, ok3 := str("encoding")
	if !ok1 || !ok2 || !ok3 {
		return ablyMessage{}, newAblyError(http.StatusBadRequest, ablyInvalidBody, "Message id, name and encoding must be strings")
	}
	data, err := decodeAblyData(m["data"], enc)
	if err != nil {
		return ablyMessage{}, newAblyError(http.StatusBadRequest, ablyInvalidEncoding, "Invalid message data or encoding: %v", err)
	}
	if len(data)+len(name) > protocol.AblyMaxMessageBytes {
		return ablyMessage{}, newAblyError(http.StatusRequestEntityTooLarge, ablyMessageTooLarge, "Maximum message length exceeded (%d bytes, the limit is %d)", len(data)+len(name), protocol.AblyMaxMessageBytes)
	}
	return ablyMessage{id: id, name: name, data: data}, nil
}

// decodeAblyData undoes a message's encodings (applied left to right, so
// undone right to left) and returns the text Pusher delivers as event data.
// JSON stays JSON text; binary that is not UTF-8 stays base64.
func decodeAblyData(v any, encoding string) (string, error) {
	var b []byte
	isText := false
	switch d := v.(type) {
	case nil:
		return "", nil
	case string:
		b, isText = []byte(d), true
	case []byte:
		b = d
	default:
		// A JSON body may carry an object or array as data; Ably treats
		// it as JSON.
		j, err := json.Marshal(d)
		if err != nil {
			return "", err
		}
		b, isText = j, true
	}
	if encoding != "" {
		steps := strings.Split(encoding, "/")
		for i := len(steps) - 1; i >= 0; i-- {
			switch steps[i] {
			case "base64":
				dec, err := base64.StdEncoding.DecodeString(string(b))
				if err != nil {
					return "", errors.New("data is not base64")
				}
				b, isText = dec, false
			case "utf-8", "json":
				if !utf8.Valid(b) {
					return "", fmt.Errorf("%s data is not UTF-8", steps[i])
				}
				isText = true
			default:
				return "", fmt.Errorf("encoding %q is not supported here", steps[i])
			}
		}
	}
	if !isText && !utf8.Valid(b) {
		return base64.StdEncoding.EncodeToString(b), nil
	}
	return string(b), nil
}

// deliver hands messages published to an Ably channel to pusher-js
// subscribers of the mapped channel, once per message id within the dedup
// window.
func (a *ablyEndpoint) deliver(ablyChannel string, msgs []ablyMessage) []string {
	pusherName, mapped := protocol.PusherChannel(ablyChannel)
	now := time.Now()
	serials := make([]string, len(msgs))
	for i, m := range msgs {
		serials[i] = fmt.Sprintf("%016x@%d", a.serial.Add(1), now.UnixMilli())
		if m.id != "" && !a.dedup.first(ablyChannel, m.id, now) {
			a.hub.log.Debug("dropped duplicate Ably message", "channel", ablyChannel, "id", m.id)
			continue
		}
		if mapped {
			a.hub.publish(pusherName, m.name, m.data, "")
		} else {
			a.hub.log.Info("event reached no subscriber", "ably_channel", ablyChannel, "event", m.name,
				"hint", "no Pusher channel maps to this Ably channel: the adapter uses public:, private: and presence:")
		}
	}
	return serials
}

func validAblyChannel(name string) *ablyError {
	if name == "" || !utf8.ValidString(name) {
		return newAblyError(http.StatusBadRequest, ablyInvalidChannel, "Invalid channel name %q", name)
	}
	return nil
}

// publishResult is what a publish answers per channel.
type publishResult struct {
	Channel   string   `json:"channel" msgpack:"channel"`
	MessageID string   `json:"messageId,omitempty" msgpack:"messageId,omitempty"`
	Serials   []string `json:"serials,omitempty" msgpack:"serials,omitempty"`
}

func messageIDPrefix(msgs []ablyMessage) string {
	if len(msgs) > 0 {
		id, _, _ := strings.Cut(msgs[0].id, ":")
		return id
	}
	return ""
}

// publish is POST /channels/{name}/messages: 201 with the serials.
func (a *ablyEndpoint) publish(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("channel")
	v, e := a.readBody(w, r)
	if e == nil {
		e = validAblyChannel(name)
	}
	var msgs []ablyMessage
	if e == nil {
		msgs, e = toMessages(v)
	}
	if e != nil {
		replyError(w, r, e)
		return
	}
	serials := a.deliver(name, msgs)
	reply(w, r, http.StatusCreated, publishResult{Channel: name, MessageID: messageIDPrefix(msgs), Serials: serials})
}

// batchResult is Ably's per-spec batch publish answer (protocol 2 and
// later, which ably-go speaks).
type batchResult struct {
	SuccessCount int   `json:"successCount" msgpack:"successCount"`
	FailureCount int   `json:"failureCount" msgpack:"failureCount"`
	Results      []any `json:"results" msgpack:"results"`
}

type batchFailure struct {
	Channel string     `json:"channel" msgpack:"channel"`
	Error   *ablyError `json:"error" msgpack:"error"`
}

// batchPublish is POST /messages: a BatchPublishSpec ({channels, messages})
// or an array of them. Each spec's messages go to each of its channels. A
// malformed request is refused whole; a channel that cannot be published to
// fails alone, in the results.
func (a *ablyEndpoint) batchPublish(w http.ResponseWriter, r *http.Request) {
	v, e := a.readBody(w, r)
	if e != nil {
		replyError(w, r, e)
		return
	}
	var specs []any
	switch t := v.(type) {
	case []any:
		specs = t
	case map[string]any:
		specs = []any{t}
	default:
		replyError(w, r, newAblyError(http.StatusBadRequest, ablyInvalidBody, "Expected a batch spec or an array of them"))
		return
	}
	type parsed struct {
		channels []string
		msgs     []ablyMessage
	}
	ps := make([]parsed, len(specs))
	for i, sv := range specs {
		spec, ok := sv.(map[string]any)
		if !ok {
			replyError(w, r, newAblyError(http.StatusBadRequest, ablyInvalidBody, "Batch spec %d is not an object", i))
			return
		}
		var chans []string
		switch c := spec["channels"].(type) {
		case string:
			chans = []string{c}
		case []any:
			for _, x := range c {
				s, ok := x.(string)
				if !ok {
					replyError(w, r, newAblyError(http.StatusBadRequest, ablyInvalidBody, "Batch spec %d: channels must be strings", i))
					return
				}
				chans = append(chans, s)
			}
		}
		if len(chans) == 0 || len(chans) > protocol.AblyMaxBatchChannels {
			replyError(w, r, newAblyError(http.StatusBadRequest, ablyBadRequest, "Batch spec %d names %d channels; 1 to %d are allowed", i, len(chans), protocol.AblyMaxBatchChannels))
			return
		}
		mv, ok := spec["messages"]
		if !ok {
			mv = spec["message"]
		}
		msgs, e := toMessages(mv)
		if e != nil {
			e.Message = fmt.Sprintf("Batch spec %d: %s", i, e.Message)
			replyError(w, r, e)
			return
		}
		ps[i] = parsed{chans, msgs}
	}
	out := make([]batchResult, len(ps))
	for i, p := range ps {
		res := batchResult{Results: []any{}}
		for _, ch := range p.channels {
			if e := validAblyChannel(ch); e != nil {
				res.FailureCount++
				res.Results = append(res.Results, batchFailure{Channel: ch, Error: e})
				continue
			}
			serials := a.deliver(ch, p.msgs)
			res.SuccessCount++
			res.Results = append(res.Results, publishResult{Channel: ch, MessageID: messageIDPrefix(p.msgs), Serials: serials})
		}
		out[i] = res
	}
	reply(w, r, http.StatusCreated, out)
}

// time is GET /time: the server's clock in milliseconds, in an array, with
// no authentication, as Ably answers.
func (a *ablyEndpoint) time(w http.ResponseWriter, r *http.Request) {
	reply(w, r, http.StatusOK, []int64{time.Now().UnixMilli()})
}

// ablyDetails is Ably's ChannelDetails: what GET /channels/{name} and a
// channel enumeration answer. The occupancy counts the Pusher channel's
// subscriptions; every subscriber may publish through the adapter.
type ablyDetails struct {
	ChannelID string `json:"channelId" msgpack:"channelId"`
	Name      string `json:"name" msgpack:"name"`
	Status    struct {
		IsActive  bool `json:"isActive" msgpack:"isActive"`
		Occupancy struct {
			Metrics ablyMetrics `json:"metrics" msgpack:"metrics"`
		} `json:"occupancy" msgpack:"occupancy"`
	} `json:"status" msgpack:"status"`
}

type ablyMetrics struct {
	Connections         int `json:"connections" msgpack:"connections"`
	Publishers          int `json:"publishers" msgpack:"publishers"`
	Subscribers         int `json:"subscribers" msgpack:"subscribers"`
	PresenceConnections int `json:"presenceConnections" msgpack:"presenceConnections"`
	PresenceMembers     int `json:"presenceMembers" msgpack:"presenceMembers"`
	PresenceSubscribers int `json:"presenceSubscribers" msgpack:"presenceSubscribers"`
}

func details(ablyChannel string, info ChannelInfo) ablyDetails {
	d := ablyDetails{ChannelID: ablyChannel, Name: ablyChannel}
	d.Status.IsActive = info.SubscriptionCount > 0
	m := &d.Status.Occupancy.Metrics
	m.Connections, m.Publishers, m.Subscribers = info.SubscriptionCount, info.SubscriptionCount, info.SubscriptionCount
	if protocol.KindOf(info.Name) == protocol.Presence {
		m.PresenceConnections, m.PresenceSubscribers = info.SubscriptionCount, info.SubscriptionCount
		m.PresenceMembers = info.UserCount
	}
	return d
}

// listChannels is GET /channels: the active channels, optionally under a
// prefix, as names (by=id) or ChannelDetails (by=value, the default here).
// Everything comes in one page.
func (a *ablyEndpoint) listChannels(w http.ResponseWriter, r *http.Request) {
	if e := a.authorize(r); e != nil {
		a.hub.log.Info("refused Ably request", "path", r.URL.Path, "reason", e.Message)
		replyError(w, r, e)
		return
	}
	prefix, by := r.URL.Query().Get("prefix"), r.URL.Query().Get("by")
	ids := []string{}
	list := []ablyDetails{}
	for _, info := range a.hub.channelsInfo("") {
		ch, err := protocol.AblyChannel(info.Name)
		if err != nil || !strings.HasPrefix(ch, prefix) {
			continue
		}
		ids = append(ids, ch)
		list = append(list, details(ch, info))
	}
	if by == "id" {
		reply(w, r, http.StatusOK, ids)
		return
	}
	reply(w, r, http.StatusOK, list)
}

// pusherChannel maps the Ably channel of a request to the Pusher channel
// its subscribers are on, or answers 404 as Ably does for a channel that is
// not active.
func (a *ablyEndpoint) pusherChannel(w http.ResponseWriter, r *http.Request) (string, bool) {
	if e := a.authorize(r); e != nil {
		a.hub.log.Info("refused Ably request", "path", r.URL.Path, "reason", e.Message)
		replyError(w, r, e)
		return "", false
	}
	ch := r.PathValue("channel")
	name, ok := protocol.PusherChannel(ch)
	if !ok || a.hub.channelInfo(name).SubscriptionCount == 0 {
		replyError(w, r, newAblyError(http.StatusNotFound, ablyNotFound, "Channel %q is not active", ch))
		return "", false
	}
	return name, true
}

// channelDetails is GET /channels/{name}: the channel's status and
// occupancy.
func (a *ablyEndpoint) channelDetails(w http.ResponseWriter, r *http.Request) {
	name, ok := a.pusherChannel(w, r)
	if !ok {
		return
	}
	reply(w, r, http.StatusOK, details(r.PathValue("channel"), a.hub.channelInfo(name)))
}

// ablyPresence is a PresenceMessage as GET /channels/{name}/presence
// answers it: one per member, "present".
type ablyPresence struct {
	ID           string `json:"id" msgpack:"id"`
	ClientID     string `json:"clientId" msgpack:"clientId"`
	ConnectionID string `json:"connectionId" msgpack:"connectionId"`
	Action       int    `json:"action" msgpack:"action"`
	Data         string `json:"data,omitempty" msgpack:"data,omitempty"`
	Timestamp    int64  `json:"timestamp" msgpack:"timestamp"`
}

// ablyPresent is Ably's presence action "present".
const ablyPresent = 1

// presence is GET /channels/{name}/presence: the members of the presence
// channel, each member's user_id as its clientId (as the adapter sets it)
// and its user_info as data. Channels that are not presence channels have
// no members.
func (a *ablyEndpoint) presence(w http.ResponseWriter, r *http.Request) {
	ch := r.PathValue("channel")
	out := []ablyPresence{}
	if e := a.authorize(r); e != nil {
		a.hub.log.Info("refused Ably request", "path", r.URL.Path, "reason", e.Message)
		replyError(w, r, e)
		return
	}
	if name, ok := protocol.PusherChannel(ch); ok {
		now := time.Now().UnixMilli()
		for i, m := range a.hub.presenceMembers(name) {
			out = append(out, ablyPresence{ID: fmt.Sprintf("%s:%d", m.id, i), ClientID: m.id, ConnectionID: m.id, Action: ablyPresent, Data: string(m.info), Timestamp: now})
		}
	}
	reply(w, r, http.StatusOK, out)
}
