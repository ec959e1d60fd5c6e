package broadcast

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldrt/herald/shared/protocol"
	pusher "github.com/pusher/pusher-http-go/v5"
)

// PusherConfig configures the pusher driver. Field comments name the
// environment variable package config reads each from.
type PusherConfig struct {
	AppID   string // PUSHER_APP_ID
	Key     string // PUSHER_APP_KEY
	Secret  string // PUSHER_APP_SECRET
	Cluster string // PUSHER_APP_CLUSTER; "mt1" when neither it nor Host is set, as Laravel does
	Host    string // PUSHER_HOST; default api-<cluster>.pusher.com
	Port    int    // PUSHER_PORT; default the scheme's
	Scheme  string // PUSHER_SCHEME: https (default) or http
	// EncryptionMasterKeyBase64 (PUSHER_ENCRYPTION_MASTER_KEY_BASE64) is the
	// 32-byte key private-encrypted- channels are encrypted with.
	EncryptionMasterKeyBase64 string
	// MaxDataBytes (PUSHER_MAX_DATA_BYTES) is the largest event data the
	// app's plan allows; default 10,240.
	MaxDataBytes int
	// Concurrency (BROADCAST_CONCURRENCY) is how many requests run at once;
	// default DefaultConcurrency.
	Concurrency int
	// HTTPClient replaces the driver's own keep-alive client; its Timeout,
	// when set, bounds each request.
	HTTPClient *http.Client
	// Reverb marks the settings as read from Laravel's REVERB_* variables
	// (BROADCAST_CONNECTION=reverb): a Pusher-compatible server of the
	// app's own, so the host is required and messages name REVERB_*.
	Reverb bool
}

// vars is the prefix of the variables the settings come from.
func (c PusherConfig) vars() string {
	if c.Reverb {
		return "REVERB_"
	}
	return "PUSHER_"
}

// Validate reports the first setting that cannot work, naming its
// environment variable. It never includes the secret or the master key.
func (c PusherConfig) Validate() error {
	v := c.vars()
	switch {
	case strings.TrimSpace(c.AppID) == "":
		return errors.New(v + "APP_ID is empty")
	case strings.TrimSpace(c.Key) == "":
		return errors.New(v + "APP_KEY is empty")
	case c.Secret == "":
		return errors.New(v + "APP_SECRET is empty")
	case c.Reverb && c.Host == "":
		return errors.New("REVERB_HOST is empty: it names the Reverb (or other Pusher-compatible) server to publish to")
	}
	if strings.ContainsAny(c.Host, "/ ") {
		return fmt.Errorf("%sHOST %q must be a host name, without scheme or path", v, c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("%sPORT %d is not a TCP port (1-65535)", v, c.Port)
	}
	switch c.Scheme {
	case "", "http", "https":
	default:
		return fmt.Errorf("%sSCHEME %q must be http or https", v, c.Scheme)
	}
	if c.EncryptionMasterKeyBase64 != "" {
		key, err := base64.StdEncoding.DecodeString(c.EncryptionMasterKeyBase64)
		if err != nil {
			return errors.New("PUSHER_ENCRYPTION_MASTER_KEY_BASE64 is not valid base64")
		}
		if len(key) != 32 {
			return fmt.Errorf("PUSHER_ENCRYPTION_MASTER_KEY_BASE64 must decode to 32 bytes, it decodes to %d", len(key))
		}
	}
	if c.MaxDataBytes < 0 {
		return fmt.Errorf("PUSHER_MAX_DATA_BYTES %d is negative", c.MaxDataBytes)
	}
	if c.Concurrency < 0 || c.Concurrency > MaxConcurrency {
		return fmt.Errorf("BROADCAST_CONCURRENCY %d must be between 1 and %d", c.Concurrency, MaxConcurrency)
	}
	return nil
}

// Pusher broadcasts through the Pusher Channels HTTP API with
// pusher-http-go.
//
// Planning: single-channel messages become events of batch_events calls of
// at most 10; messages naming several channels become trigger calls of at
// most 100 channels each (250 channels are 3 triggers). Events on one
// channel keep their order (see runCalls); events of unrelated channels are
// grouped so that a busy channel does not serialise the others.
//
// socket_id exclusion is passed to Pusher on every event and trigger,
// except for #server-to-user- channels: pusher-http-go's SendToUser, the only
// way it can address them, takes no socket_id.
//
// private-encrypted- channels are end-to-end encrypted by pusher-http-go with
// the master key (both Trigger and TriggerBatch encrypt per channel); such a
// message must name no other channel, since each channel has its own key.
// Data already in Pusher's encrypted form ({"nonce", "ciphertext"}, from a
// server SDK that holds the master key and published through the
// PublishFunction) is sent as it is, so it is encrypted once; that needs no
// master key here. pusher-http-go encrypts every event of such a channel, so
// those events are sent by the driver's own signed request.
type Pusher struct {
	base        pusher.Client
	transport   *recordingTransport // admits Concurrency requests at a time; see newHTTPClient
	limits      Limits
	concurrency int
	hasKey      bool
}

var _ Driver = (*Pusher)(nil)

// NewPusher validates cfg and returns a driver with its HTTP client ready.
// It does no I/O.
func NewPusher(cfg PusherConfig) (*Pusher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxDataBytes == 0 {
		cfg.MaxDataBytes = protocol.MaxDataBytes
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	host := cfg.Host
	if host == "" {
		cluster := cfg.Cluster
		if cluster == "" {
			cluster = "mt1"
		}
		host = "api-" + cluster + ".pusher.com"
	}
	if cfg.Port != 0 {
		host = net.JoinHostPort(host, strconv.Itoa(cfg.Port))
	}
	client := newHTTPClient(cfg.HTTPClient, cfg.Concurrency)
	return &Pusher{
		base: pusher.Client{
			AppID:                       cfg.AppID,
			Key:                         cfg.Key,
			Secret:                      cfg.Secret,
			Host:                        host,
			Secure:                      cfg.Scheme != "http",
			EncryptionMasterKeyBase64:   cfg.EncryptionMasterKeyBase64,
			OverrideMaxMessagePayloadKB: (cfg.MaxDataBytes + 1023) / 1024,
		},
		transport:   client.Transport.(*recordingTransport),
		limits:      Limits{MaxDataBytes: cfg.MaxDataBytes, MaxChannelsPerCall: protocol.MaxChannelsPerTrigger, MaxEventsPerCall: protocol.MaxBatchEvents},
		concurrency: cfg.Concurrency,
		hasKey:      cfg.EncryptionMasterKeyBase64 != "",
	}, nil
}

// Name implements Driver.
func (p *Pusher) Name() string { return "pusher" }

// Limits implements Driver.
func (p *Pusher) Limits() Limits { return p.limits }

// Broadcast implements Driver.
func (p *Pusher) Broadcast(ctx context.Context, msgs []Message) error {
	pre, calls := p.plan(msgs)
	return runCalls(ctx, "pusher", len(msgs), pre, calls, prepareAhead*p.concurrency, func(ctx context.Context, c *call) error {
		return p.send(ctx, msgs, c)
	})
}

// pusherUnit is one provider-sized piece of a message before packing.
type pusherUnit struct {
	msg      int
	op       string // "batch_events", "trigger" or "send_to_user"
	channels []string
}

// plan validates msgs and packs them into calls. pre holds the messages
// refused before sending (nil when none was).
func (p *Pusher) plan(msgs []Message) (pre []error, calls []call) {
	units := make([]pusherUnit, 0, len(msgs))
	for i := range msgs {
		chans, err := p.check(&msgs[i])
		if err != nil {
			pre = refuse(pre, len(msgs), i, err)
			continue
		}
		rest := chans
		if slices.ContainsFunc(chans, isUserChannel) {
			rest = nil
			for _, ch := range chans {
				if isUserChannel(ch) {
					units = append(units, pusherUnit{msg: i, op: "send_to_user", channels: []string{ch}})
				} else {
					rest = append(rest, ch)
				}
			}
		}
		switch {
		case len(rest) == 1 && protocol.KindOf(rest[0]) == protocol.PrivateEncrypted && encryptedForm(msgs[i].Data):
			units = append(units, pusherUnit{msg: i, op: "trigger_encrypted", channels: rest})
		case len(rest) == 1:
			units = append(units, pusherUnit{msg: i, op: "batch_events", channels: rest})
		case len(rest) > 1:
			for part := range slices.Chunk(rest, protocol.MaxChannelsPerTrigger) {
				units = append(units, pusherUnit{msg: i, op: "trigger", channels: part})
			}
		}
	}
	units = groupByComponent(units, func(u *pusherUnit) []string { return u.channels })

	open := -1 // the batch_events call still taking events
	for _, u := range units {
		if u.op != "batch_events" {
			calls = append(calls, call{op: u.op, channels: u.channels, msgs: []int{u.msg}, parts: [][]string{u.channels}})
			open = -1 // later events must follow this call, not precede it
			continue
		}
		if open < 0 || len(calls[open].msgs) == protocol.MaxBatchEvents {
			calls = append(calls, call{op: "batch_events", msgs: make([]int, 0, protocol.MaxBatchEvents), parts: make([][]string, 0, protocol.MaxBatchEvents)})
			open = len(calls) - 1
		}
		c := &calls[open]
		c.msgs = append(c.msgs, u.msg)
		c.parts = append(c.parts, u.channels)
		if !slices.Contains(c.channels, u.channels[0]) {
			c.channels = append(c.channels, u.channels[0])
		}
	}
	return pre, calls
}

// check validates one message against what the API and pusher-http-go
// accept, so that one bad event fails alone instead of failing the batch
// call it would share with nine others. It returns the message's channels
// without duplicates.
func (p *Pusher) check(m *Message) ([]string, error) {
	fail := func(format string, args ...any) ([]string, error) {
		return nil, &Error{Provider: "pusher", Op: "validate", Err: fmt.Errorf(format, args...)}
	}
	if m.Name == "" {
		return fail("event name is empty")
	}
	if len(m.Name) > protocol.MaxEventNameLength {
		return fail("event name is %d bytes, the limit is %d", len(m.Name), protocol.MaxEventNameLength)
	}
	if len(m.Channels) == 0 {
		return fail("event %q names no channel", m.Name)
	}
	if m.SocketID != "" && !protocol.ValidSocketID(m.SocketID) {
		return fail("socket_id %q is not of the form 123.456", m.SocketID)
	}
	chans := dedupe(m.Channels)
	encrypted := false
	for _, ch := range chans {
		if err := protocol.ValidateChannel(ch); err != nil {
			return fail("%v", err)
		}
		if protocol.KindOf(ch) == protocol.PrivateEncrypted {
			encrypted = true
		}
	}
	size := len(m.Data)
	if encrypted {
		if len(chans) > 1 {
			return fail("a private-encrypted- channel must be the only channel of its event (each channel has its own key)")
		}
		switch {
		case encryptedForm(m.Data):
			// Encrypted by the sender; sent as it is.
		case !p.hasKey:
			return fail("%s: encrypted channels need PUSHER_ENCRYPTION_MASTER_KEY_BASE64, or data the sender encrypted ({\"nonce\", \"ciphertext\"})", chans[0])
		default:
			size = encryptedSize(len(m.Data))
		}
	}
	if size > p.limits.MaxDataBytes {
		return nil, &Error{Provider: "pusher", Op: "validate", StatusCode: http.StatusRequestEntityTooLarge,
			Err: fmt.Errorf("event %q: data is %d bytes, the limit is %d", m.Name, size, p.limits.MaxDataBytes)}
	}
	return chans, nil
}

// encryptedSize is the length of the data pusher-http-go sends for n bytes
// on an encrypted channel: {"nonce":"<24 bytes b64>","ciphertext":"<n+16
// bytes b64>"}. Pusher's size limit applies to that, not to the plaintext.
func encryptedSize(n int) int {
	return len(`{"nonce":"`) + base64.StdEncoding.EncodedLen(24) + len(`","ciphertext":"`) +
		base64.StdEncoding.EncodedLen(n+16) + len(`"}`)
}

// send performs one planned call.
func (p *Pusher) send(ctx context.Context, msgs []Message, c *call) error {
	rec := &response{}
	// A shallow copy per call: pusher-http-go takes no context, so the copy's
	// HTTP client binds this call's context (deadline and recorder) to
	// every request the library makes.
	client := p.base
	client.HTTPClient = &http.Client{Transport: p.transport.with(withResponse(ctx, rec))}

	var err error
	switch c.op {
	case "batch_events":
		batch := make([]pusher.Event, len(c.msgs))
		for i, mi := range c.msgs {
			m := &msgs[mi]
			batch[i] = pusher.Event{Channel: c.parts[i][0], Name: m.Name, Data: m.Data}
			if m.SocketID != "" {
				sid := m.SocketID
				batch[i].SocketID = &sid
			}
		}
		_, err = client.TriggerBatch(batch)
	case "trigger":
		m := &msgs[c.msgs[0]]
		var params pusher.TriggerParams
		if m.SocketID != "" {
			sid := m.SocketID
			params.SocketID = &sid
		}
		_, err = client.TriggerMultiWithParams(c.channels, m.Name, m.Data, params)
	case "send_to_user":
		m := &msgs[c.msgs[0]]
		err = client.SendToUser(strings.TrimPrefix(c.channels[0], protocol.PrefixUser), m.Name, m.Data)
	case "trigger_encrypted":
		m := &msgs[c.msgs[0]]
		body, merr := json.Marshal(struct {
			Name     string   `json:"name"`
			Channels []string `json:"channels"`
			Data     string   `json:"data"`
			SocketID string   `json:"socket_id,omitempty"`
		}{m.Name, c.channels, m.Data, m.SocketID})
		if merr != nil {
			return &Error{Provider: "pusher", Op: c.op, Err: merr}
		}
		return p.post(ctx, c.op, "/events", body)
	}
	return classify("pusher", c.op, rec, err)
}

// classify turns what an SDK returned, and what the transport saw, into
// nil or an *Error. A 2xx answer is success even when the SDK fails to parse
// its body: the provider accepted the events, and a retry would duplicate
// them.
func classify(provider, op string, rec *response, sdkErr error) error {
	status, body, transportErr := rec.get()
	if status >= 200 && status < 300 {
		return nil
	}
	if status != 0 {
		return &Error{Provider: provider, Op: op, StatusCode: status, Temporary: TemporaryStatus(status),
			Err: errors.New(bodyExcerpt(body))}
	}
	if transportErr != nil {
		return &Error{Provider: provider, Op: op, Temporary: TemporaryCause(transportErr), Err: transportErr}
	}
	if sdkErr != nil {
		// Refused by the SDK before any request: will not change on retry.
		return &Error{Provider: provider, Op: op, Err: sdkErr}
	}
	return nil
}

// encryptedForm reports whether data is already what Pusher delivers on a
// private-encrypted- channel: a JSON object of exactly a base64 24-byte
// "nonce" and a base64 "ciphertext" of at least secretbox's 16-byte tag.
func encryptedForm(data string) bool {
	if !strings.HasPrefix(data, "{") {
		return false
	}
	var v map[string]json.RawMessage
	if json.Unmarshal([]byte(data), &v) != nil || len(v) != 2 {
		return false
	}
	var nonce, ciphertext string
	if json.Unmarshal(v["nonce"], &nonce) != nil || json.Unmarshal(v["ciphertext"], &ciphertext) != nil {
		return false
	}
	n, err := base64.StdEncoding.DecodeString(nonce)
	if err != nil || len(n) != 24 {
		return false
	}
	c, err := base64.StdEncoding.DecodeString(ciphertext)
	return err == nil && len(c) >= 16
}

// isUserChannel reports whether ch is a #server-to-user- channel, which
// only SendToUser can address.
func isUserChannel(ch string) bool { return protocol.KindOf(ch) == protocol.User }
