package broadcast

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ably/ably-go/ably"
	"github.com/heraldrt/herald/shared/protocol"
)

const (
	// ablyMaxRequestBytes keeps a batch publish body under Ably's limit,
	// with room for the request's own framing.
	ablyMaxRequestBytes = protocol.AblyMaxBatchBytes - 4096
	// ablyLookahead bounds how many open requests the planner tries before
	// opening a new one, so planning stays linear.
	ablyLookahead = 16
)

// Ably error codes herald acts on.
const (
	ablyCodeBatchError = 40020 // batch publish partially failed
)

// AblyConfig configures the ably driver. Field comments name the environment
// variable package config reads each from.
type AblyConfig struct {
	Key    string // ABLY_KEY: appId.keyId:secret
	Host   string // ABLY_HOST; default Ably's REST endpoint (with its fallback hosts)
	Port   int    // ABLY_PORT; default the scheme's
	Scheme string // ABLY_SCHEME: https (default) or http
	// MaxDataBytes is the largest message the account allows; default 65,536.
	MaxDataBytes int
	// Concurrency (BROADCAST_CONCURRENCY) is how many requests run at once;
	// default DefaultConcurrency.
	Concurrency int
	// HTTPClient replaces the driver's own keep-alive client; its Timeout,
	// when set, bounds each request.
	HTTPClient *http.Client
}

// Validate reports the first setting that cannot work, naming its
// environment variable. It never includes the key's secret.
func (c AblyConfig) Validate() error {
	if c.Key == "" {
		return errors.New("ABLY_KEY is empty")
	}
	if _, err := protocol.ParseAblyKey(c.Key); err != nil {
		return fmt.Errorf("ABLY_KEY %w", err)
	}
	if strings.ContainsAny(c.Host, "/ ") {
		return fmt.Errorf("ABLY_HOST %q must be a host name, without scheme or path", c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("ABLY_PORT %d is not a TCP port (1-65535)", c.Port)
	}
	switch c.Scheme {
	case "", "http", "https":
	default:
		return fmt.Errorf("ABLY_SCHEME %q must be http or https", c.Scheme)
	}
	if c.MaxDataBytes < 0 {
		return fmt.Errorf("ably max data bytes %d is negative", c.MaxDataBytes)
	}
	if c.Concurrency < 0 || c.Concurrency > MaxConcurrency {
		return fmt.Errorf("BROADCAST_CONCURRENCY %d must be between 1 and %d", c.Concurrency, MaxConcurrency)
	}
	return nil
}

// Ably broadcasts through Ably's REST batch publish (POST /messages) with
// ably-go, to the channel names Ably's Pusher protocol adapter gives
// pusher-js subscriptions (see protocol.AblyChannel), so a pusher-js
// frontend connected to Ably receives them.
//
// Planning: each message is one batch spec naming all its channels (split
// at 100); specs are packed into requests of at most 100 channels and 2 MiB.
// Specs in one request are published in parallel by Ably, so a channel
// appears at most once per request and its next message goes in a later
// request, which runCalls sends after this one.
//
// Idempotency: every message carries an id. With Message.ID set it is derived
// from it (base64url SHA-256, with the ":0" serial Ably uses for a
// single-message publish), so a redelivered message gets the same id and
// Ably's 2-minute dedupe window absorbs it, on every channel and across
// driver instances. Without Message.ID the id is random per Broadcast, which
// still makes ably-go's own retries to fallback hosts safe.
//
// socket_id: pusher-js clients connected through the adapter have no Ably
// connection key herald could name, so sender exclusion cannot be expressed:
// the sender receives its own event too. The message is published anyway.
//
// The wire format is JSON, not ably-go's default MessagePack: data is
// already a JSON string, so MessagePack saves nothing, while JSON lets the
// planner measure each request body exactly against Ably's 2 MiB limit.
type Ably struct {
	rest        *ably.REST
	limits      Limits
	concurrency int
}

var _ Driver = (*Ably)(nil)

// NewAbly validates cfg and returns a driver with its HTTP client ready.
// It does no I/O.
func NewAbly(cfg AblyConfig) (*Ably, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxDataBytes == 0 {
		cfg.MaxDataBytes = protocol.AblyMaxMessageBytes
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	client := newHTTPClient(cfg.HTTPClient, cfg.Concurrency)
	opts := []ably.ClientOption{
		ably.WithKey(cfg.Key),
		ably.WithUseBinaryProtocol(false),
		ably.WithHTTPClient(client),
		ably.WithLogLevel(ably.LogNone), // failures reach the caller as *Error
	}
	if cfg.Host != "" {
		opts = append(opts, ably.WithRESTHost(cfg.Host))
	}
	if cfg.Scheme == "http" {
		opts = append(opts, ably.WithTLS(false), ably.WithInsecureAllowBasicAuthWithoutTLS())
		if cfg.Port != 0 {
			opts = append(opts, ably.WithPort(cfg.Port))
		}
	} else if cfg.Port != 0 {
		opts = append(opts, ably.WithTLSPort(cfg.Port))
	}
	rest, err := ably.NewREST(opts...)
	if err != nil {
		return nil, fmt.Errorf("ably client: %w", err)
	}
	return &Ably{
		rest:        rest,
		limits:      Limits{MaxDataBytes: cfg.MaxDataBytes, MaxChannelsPerCall: protocol.AblyMaxBatchChannels, MaxEventsPerCall: protocol.AblyMaxBatchChannels},
		concurrency: cfg.Concurrency,
	}, nil
}

// Name implements Driver.
func (a *Ably) Name() string { return "ably" }

// Limits implements Driver.
func (a *Ably) Limits() Limits { return a.limits }

// AblyMessageID is the Ably message id herald publishes a message with the
// given Message.ID under: the same input always gives the same id.
func AblyMessageID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:]) + ":0"
}

// ablyMessageIDLen is the length of every AblyMessageID.
var ablyMessageIDLen = base64.RawURLEncoding.EncodedLen(sha256.Size) + len(":0")

// ablySpec is one BatchPublishSpec: each message is its own spec, so ids
// stay per message (Ably requires the messages of one spec to share a base
// id).
type ablySpec struct {
	Channels []string      `json:"channels"`
	Messages []ablyMessage `json:"messages"`
}

// ablyMessage is a message as batch publish carries it.
type ablyMessage struct {
	Name string `json:"name"`
	Data string `json:"data"`
	ID   string `json:"id"`
}

// Broadcast implements Driver.
func (a *Ably) Broadcast(ctx context.Context, msgs []Message) error {
	pre, calls, ids := a.plan(msgs)
	return runCalls(ctx, "ably", len(msgs), pre, calls, prepareAhead*a.concurrency, func(ctx context.Context, c *call) error {
		return a.send(ctx, c, msgs, ids)
	})
}

// plan validates msgs, gives each its id, and packs them into requests by
// their encoded size. The bodies are encoded by send, in the workers, so the
// first request leaves as soon as the plan is made and the encoding of later
// requests overlaps the round trips of earlier ones.
func (a *Ably) plan(msgs []Message) (pre []error, calls []call, ids []string) {
	ids = make([]string, len(msgs))
	type request struct {
		channels int
		bytes    int
	}
	var reqs []request
	last := make(map[string]int, len(msgs)) // channel -> last request naming it
	firstOpen := 0                          // requests before it are full
	var random string
	for i := range msgs {
		m := &msgs[i]
		chans, err := a.check(m)
		if err != nil {
			pre = refuse(pre, len(msgs), i, err)
			continue
		}
		id := m.ID
		if id == "" {
			if random == "" {
				random = randomBase()
			}
			id = random + ":" + strconv.Itoa(i)
		}
		// Each message is its own spec, so ids stay per message: Ably
		// requires the messages of one spec to share a base id.
		ids[i] = id
		enc := ablyMessageLen(m)
		for part := range slices.Chunk(chans, protocol.AblyMaxBatchChannels) {
			n := len(part)
			size := enc + len(`{"channels":[],"messages":[]},`)
			for _, ch := range part {
				size += len(ch) + 3
			}
			start := 0
			for _, ch := range part {
				if r, ok := last[ch]; ok && r+1 > start {
					start = r + 1
				}
			}
			start = max(start, firstOpen)
			target := -1
			for r := start; r < len(reqs) && r < start+ablyLookahead; r++ {
				if reqs[r].channels+n <= protocol.AblyMaxBatchChannels && reqs[r].bytes+size <= ablyMaxRequestBytes {
					target = r
					break
				}
			}
			if target < 0 {
				reqs = append(reqs, request{})
				calls = append(calls, call{op: "publish"})
				target = len(reqs) - 1
			}
			reqs[target].channels += n
			reqs[target].bytes += size
			c := &calls[target]
			c.msgs = append(c.msgs, i)
			c.parts = append(c.parts, part)
			c.channels = append(c.channels, part...)
			for _, ch := range part {
				last[ch] = target
			}
			for firstOpen < len(reqs) && (reqs[firstOpen].channels == protocol.AblyMaxBatchChannels || reqs[firstOpen].bytes > ablyMaxRequestBytes-1024) {
				firstOpen++
			}
		}
	}
	return pre, calls, ids
}

// ablyMessageLen is the length of m's ablyMessage as the SDK encodes it.
func ablyMessageLen(m *Message) int {
	return len(`{"name":,"data":,"id":""}`) + ablyStringLen(m.Name) + ablyStringLen(m.Data) + ablyMessageIDLen
}

// ablyStringLen is the length of s as the SDK encodes it, with
// encoding/json.
func ablyStringLen(s string) int {
	b, _ := json.Marshal(s) // a string always encodes
	return len(b)
}

// check validates one message and returns its Ably channels.
func (a *Ably) check(m *Message) ([]string, error) {
	fail := func(format string, args ...any) ([]string, error) {
		return nil, &Error{Provider: "ably", Op: "validate", Err: fmt.Errorf(format, args...)}
	}
	if m.Name == "" {
		return fail("event name is empty")
	}
	if len(m.Channels) == 0 {
		return fail("event %q names no channel", m.Name)
	}
	out := make([]string, 0, len(m.Channels))
	for _, name := range dedupe(m.Channels) {
		if err := protocol.ValidateChannel(name); err != nil {
			return fail("%v", err)
		}
		ch, err := protocol.AblyChannel(name)
		if err != nil {
			return fail("%v", err)
		}
		out = append(out, ch)
	}
	if size := len(m.Name) + len(m.Data); size > a.limits.MaxDataBytes {
		return nil, &Error{Provider: "ably", Op: "validate", StatusCode: http.StatusRequestEntityTooLarge, Code: 40009,
			Err: fmt.Errorf("event %q: name and data are %d bytes, the limit is %d", m.Name, size, a.limits.MaxDataBytes)}
	}
	return out, nil
}

// randomBase seeds the ids of messages without Message.ID.
func randomBase() string { return rand.Text() }

// send performs one batch publish request.
func (a *Ably) send(ctx context.Context, c *call, msgs []Message, ids []string) error {
	rec := &response{}
	ctx = withResponse(ctx, rec)

	// The SDK encodes the body with encoding/json, so it gets typed values:
	// encoding them is cheaper than the validation and compaction it would
	// run over bytes encoded here.
	specs := make([]ablySpec, len(c.msgs))
	one := make([]ablyMessage, len(c.msgs))
	for j, mi := range c.msgs {
		m := &msgs[mi]
		one[j] = ablyMessage{Name: m.Name, Data: m.Data, ID: AblyMessageID(ids[mi])}
		specs[j] = ablySpec{Channels: c.parts[j], Messages: one[j : j+1 : j+1]}
	}
	_, sdkErr := a.rest.Request(http.MethodPost, "/messages", ably.RequestWithBody(specs)).Pages(ctx)
	status, resp, transportErr := rec.get()
	switch {
	case status >= 200 && status < 300:
		return a.results(c, resp, nil)
	case status != 0:
		top := ablyError(resp)
		if top.Code == ablyCodeBatchError {
			return a.results(c, resp, &Error{Provider: "ably", Op: "publish", StatusCode: status, Code: top.Code, Temporary: true,
				Err: errors.New("no result for this channel in a partially failed batch")})
		}
		msg := top.Message
		if msg == "" {
			msg = bodyExcerpt(resp)
		}
		return &Error{Provider: "ably", Op: "publish", StatusCode: status, Code: top.Code, Temporary: TemporaryStatus(status), Err: errors.New(msg)}
	case transportErr != nil:
		return &Error{Provider: "ably", Op: "publish", Temporary: TemporaryCause(transportErr), Err: transportErr}
	case sdkErr != nil:
		var info *ably.ErrorInfo
		if errors.As(sdkErr, &info) && info.StatusCode != 0 {
			// The SDK gives a status to failures of its own too, such as an
			// ended context; the cause decides those.
			return &Error{Provider: "ably", Op: "publish", StatusCode: info.StatusCode, Code: int(info.Code),
				Temporary: TemporaryStatus(info.StatusCode) || TemporaryCause(sdkErr), Err: sdkErr}
		}
		return &Error{Provider: "ably", Op: "publish", Temporary: TemporaryCause(sdkErr), Err: sdkErr}
	}
	return nil
}

// ablyErrorInfo is Ably's error object.
type ablyErrorInfo struct {
	Message    string `json:"message"`
	Code       int    `json:"code"`
	StatusCode int    `json:"statusCode"`
}

// ablyResult is one entry of a batch publish response. Ably has answered in
// two shapes: per-channel entries ({channel, messageId} or {channel,
// error}), either as the whole body or under "batchResponse" of a 40020
// error; and, in later protocol versions, one {successCount, failureCount,
// results} per spec. Both are walked the same way.
type ablyResult struct {
	Channel       string         `json:"channel"`
	Error         *ablyErrorInfo `json:"error"`
	Results       []ablyResult   `json:"results"`
	BatchResponse []ablyResult   `json:"batchResponse"`
}

func ablyError(body []byte) ablyErrorInfo {
	var b struct {
		Error ablyErrorInfo `json:"error"`
	}
	_ = json.Unmarshal(body, &b) // not JSON: no code, the status decides
	return b.Error
}

// results maps a batch response's per-channel outcomes back onto the
// messages of c. A channel without an entry counts as sent, unless missing
// is set (the response announced failures), then it fails with missing. It
// returns nil when every message was sent, else a *BatchError parallel to
// c.msgs.
func (a *Ably) results(c *call, body []byte, missing *Error) error {
	var top []ablyResult
	trimmed := strings.TrimSpace(string(body))
	switch {
	case strings.HasPrefix(trimmed, "["):
		_ = json.Unmarshal(body, &top) // unreadable: channels count as missing
	case strings.HasPrefix(trimmed, "{"):
		var one ablyResult
		_ = json.Unmarshal(body, &one)
		top = []ablyResult{one}
	}
	outcome := make(map[string]*ablyErrorInfo, len(c.channels))
	var walk func(rs []ablyResult)
	walk = func(rs []ablyResult) {
		for i := range rs {
			r := &rs[i]
			if r.Channel != "" {
				outcome[r.Channel] = r.Error
				if r.Error == nil {
					outcome[r.Channel] = &ablyErrorInfo{} // sent
				}
			}
			walk(r.Results)
			walk(r.BatchResponse)
		}
	}
	walk(top)

	errs := make([]error, len(c.msgs))
	failed := false
	for j, part := range c.parts {
		var first *Error
		temporary := false
		for _, ch := range part {
			info, seen := outcome[ch]
			var e *Error
			switch {
			case !seen && missing != nil:
				e = missing
			case !seen, info.Code == 0 && info.StatusCode == 0 && info.Message == "":
				continue
			default:
				status := info.StatusCode
				e = &Error{Provider: "ably", Op: "publish", StatusCode: status, Code: info.Code, Temporary: TemporaryStatus(status),
					Err: fmt.Errorf("%s: %s", ch, info.Message)}
			}
			if first == nil {
				first = e
			}
			temporary = temporary || e.Temporary
		}
		if first != nil {
			failed = true
			// Retrying is worth it when any channel may still succeed; the
			// deterministic id keeps channels that did succeed from
			// receiving the message twice.
			if temporary && !first.Temporary {
				cp := *first
				cp.Temporary = true
				first = &cp
			}
			errs[j] = first
		}
	}
	if !failed {
		return nil
	}
	return &BatchError{Errs: errs}
}
