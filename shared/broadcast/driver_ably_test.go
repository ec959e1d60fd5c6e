package broadcast

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldrt/herald/shared/protocol"
)

const testAblyKey = "appid.keyid:ably-test-secret"

// ablyStandIn speaks Ably's REST batch publish as ably-go sends it: basic
// auth with the key, JSON both ways, success as one BatchResult per spec.
type ablyStandIn struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests [][]ablySpec
	// respond, when set, writes its own answer for a request and returns
	// true.
	respond func(w http.ResponseWriter, specs []ablySpec) bool
}

func newAblyStandIn(t *testing.T) *ablyStandIn {
	s := &ablyStandIn{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func writeAblyError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Ably-Errorcode", strconv.Itoa(code))
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"code":%d,"statusCode":%d,"href":"https://help.ably.io/error/%d"}}`, msg, code, status, code)
}

func (s *ablyStandIn) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/messages" {
		writeAblyError(w, http.StatusNotFound, 40400, "not found")
		return
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testAblyKey)); r.Header.Get("Authorization") != want {
		s.t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		writeAblyError(w, http.StatusUnauthorized, 40101, "invalid credentials")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		s.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if r.Header.Get("X-Ably-Version") == "" {
		s.t.Error("no X-Ably-Version header")
	}
	var specs []ablySpec
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &specs); err != nil {
		s.t.Errorf("body %s: %v", body, err)
		writeAblyError(w, http.StatusBadRequest, 40001, "invalid body")
		return
	}
	seen := map[string]bool{}
	for _, sp := range specs {
		for _, ch := range sp.Channels {
			if seen[ch] {
				s.t.Errorf("channel %s named twice in one request", ch)
			}
			seen[ch] = true
		}
	}
	if len(seen) > protocol.AblyMaxBatchChannels {
		writeAblyError(w, http.StatusBadRequest, 40000, "too many channels")
		return
	}
	if len(body) >= 2<<20 {
		writeAblyError(w, http.StatusRequestEntityTooLarge, 40009, "request too large")
		return
	}
	if s.respond != nil && s.respond(w, specs) {
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, specs)
	s.mu.Unlock()
	var out []map[string]any
	for _, sp := range specs {
		var results []map[string]any
		for _, ch := range sp.Channels {
			results = append(results, map[string]any{"channel": ch, "messageId": sp.Messages[0].ID})
		}
		out = append(out, map[string]any{"successCount": len(results), "failureCount": 0, "results": results})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(out)
}

func (s *ablyStandIn) accepted() [][]ablySpec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]ablySpec(nil), s.requests...)
}

func (s *ablyStandIn) config() AblyConfig {
	u, _ := url.Parse(s.srv.URL)
	host, port, _ := net.SplitHostPort(u.Host)
	p, _ := strconv.Atoi(port)
	return AblyConfig{Key: testAblyKey, Host: host, Port: p, Scheme: "http"}
}

func newTestAbly(t *testing.T, cfg AblyConfig) *Ably {
	t.Helper()
	d, err := NewAbly(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAblyPublishOnTheWire(t *testing.T) {
	s := newAblyStandIn(t)
	d := newTestAbly(t, s.config())
	msgs := []Message{
		{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: `{"subject":"Welcome <b>"}`, SocketID: "123.456", ID: "sqs-1"},
		{Name: "Joined", Channels: []string{"presence-chat.1", "lobby"}, Data: `"plain string"`, ID: "sqs-2"},
	}
	if err := d.Broadcast(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	reqs := s.accepted()
	if len(reqs) != 1 || len(reqs[0]) != 2 {
		t.Fatalf("requests %+v, want one request of two specs", reqs)
	}
	want := []ablySpec{
		{Channels: []string{"private:App.Models.User.42"}, Messages: []ablyMessage{{Name: "EmailSent", Data: msgs[0].Data, ID: AblyMessageID("sqs-1")}}},
		{Channels: []string{"presence:chat.1", "public:lobby"}, Messages: []ablyMessage{{Name: "Joined", Data: msgs[1].Data, ID: AblyMessageID("sqs-2")}}},
	}
	if fmt.Sprint(reqs[0]) != fmt.Sprint(want) {
		t.Fatalf("specs\n got %+v\nwant %+v", reqs[0], want)
	}
}

func TestAblyDeterministicIDs(t *testing.T) {
	s := newAblyStandIn(t)
	msgs := []Message{
		{Name: "a", Channels: []string{"x"}, Data: "1", ID: "envelope-7"},
		{Name: "b", Channels: []string{"y"}, Data: "2", ID: "envelope-8"},
		{Name: "c", Channels: []string{"z"}, Data: "3"},
		{Name: "d", Channels: []string{"w"}, Data: "4"},
	}
	ids := func() map[string]string {
		d := newTestAbly(t, s.config()) // a fresh instance, as after a cold start
		s.mu.Lock()
		s.requests = nil
		s.mu.Unlock()
		if err := d.Broadcast(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range s.accepted() {
			for _, sp := range r {
				out[sp.Messages[0].Name] = sp.Messages[0].ID
			}
		}
		return out
	}
	first, second := ids(), ids()
	if first["a"] != second["a"] || first["b"] != second["b"] {
		t.Fatalf("ids differ across instances: %v vs %v", first, second)
	}
	if first["a"] != AblyMessageID("envelope-7") || first["a"] == first["b"] {
		t.Fatalf("ids %v", first)
	}
	if !strings.HasSuffix(first["a"], ":0") || len(first["a"]) != 43+2 {
		t.Fatalf("id %q is not base64url(SHA-256):0", first["a"])
	}
	if first["c"] == "" || first["c"] == first["d"] || first["c"] == second["c"] {
		t.Fatalf("generated ids must exist and be unique: %v %v", first, second)
	}
}

func TestAblyBatchChunking(t *testing.T) {
	t.Run("250 channels of one message are 3 requests", func(t *testing.T) {
		s := newAblyStandIn(t)
		d := newTestAbly(t, s.config())
		var chans []string
		for i := range 250 {
			chans = append(chans, "private-team."+strconv.Itoa(i))
		}
		if err := d.Broadcast(context.Background(), []Message{{Name: "x", Channels: chans, Data: "{}", ID: "m"}}); err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, r := range s.accepted() {
			n := 0
			for _, sp := range r {
				n += len(sp.Channels)
				if sp.Messages[0].ID != AblyMessageID("m") {
					t.Fatal("a chunk lost the message id")
				}
			}
			sizes = append(sizes, n)
		}
		if fmt.Sprint(sortedInts(sizes)) != "[50 100 100]" {
			t.Fatalf("channels per request %v", sizes)
		}
	})
	t.Run("150 single-channel messages are 2 requests", func(t *testing.T) {
		s := newAblyStandIn(t)
		d := newTestAbly(t, s.config())
		var msgs []Message
		for i := range 150 {
			msgs = append(msgs, Message{Name: "x", Channels: []string{"c" + strconv.Itoa(i)}, Data: "{}"})
		}
		if err := d.Broadcast(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, r := range s.accepted() {
			sizes = append(sizes, len(r))
		}
		if fmt.Sprint(sortedInts(sizes)) != "[50 100]" {
			t.Fatalf("specs per request %v", sizes)
		}
	})
	t.Run("one channel's messages go in order, one per request", func(t *testing.T) {
		s := newAblyStandIn(t)
		cfg := s.config()
		cfg.Concurrency = 8
		d := newTestAbly(t, cfg)
		var msgs []Message
		for i := range 40 {
			msgs = append(msgs, Message{Name: "seq", Channels: []string{"room-" + strconv.Itoa(i%3)}, Data: strconv.Itoa(i)})
		}
		if err := d.Broadcast(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, r := range s.accepted() {
			for _, sp := range r {
				got[sp.Channels[0]] = append(got[sp.Channels[0]], sp.Messages[0].Data)
			}
		}
		want := map[string][]string{}
		for i, m := range msgs {
			want["public:"+m.Channels[0]] = append(want["public:"+m.Channels[0]], strconv.Itoa(i))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("order\n got %v\nwant %v", got, want)
		}
	})
	t.Run("a 2 MiB body is split", func(t *testing.T) {
		s := newAblyStandIn(t)
		d := newTestAbly(t, s.config())
		var msgs []Message
		for i := range 60 { // 60 x 60 KB = 3.6 MB
			msgs = append(msgs, Message{Name: "big", Channels: []string{"c" + strconv.Itoa(i)}, Data: strings.Repeat("x", 60000)})
		}
		if err := d.Broadcast(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		if n := len(s.accepted()); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
	})
}

func TestAblyPartialFailure(t *testing.T) {
	msgs := []Message{
		{Name: "a", Channels: []string{"ok-1"}, Data: "1", ID: "1"},
		{Name: "b", Channels: []string{"private-denied"}, Data: "2", ID: "2"},
		{Name: "c", Channels: []string{"ok-2", "busy"}, Data: "3", ID: "3"},
		{Name: "d", Channels: []string{"ok-3"}, Data: "4", ID: "4"},
	}
	perChannel := func(ch string) map[string]any {
		switch ch {
		case "private:denied":
			return map[string]any{"channel": ch, "error": map[string]any{"message": "Channel denied access based on given capability", "code": 40160, "statusCode": 401}}
		case "public:busy":
			return map[string]any{"channel": ch, "error": map[string]any{"message": "Rate limit exceeded", "code": 42913, "statusCode": 429}}
		}
		return map[string]any{"channel": ch, "messageId": "x:0"}
	}
	check := func(t *testing.T, err error) {
		fails := Failures(err, len(msgs))
		var e *Error
		if fails[0] != nil || fails[3] != nil {
			t.Fatalf("sent messages failed: %v", fails)
		}
		if !errors.As(fails[1], &e) || e.Code != 40160 || e.StatusCode != 401 || !e.Temporary {
			t.Fatalf("denied channel: %v", fails[1])
		}
		if !errors.As(fails[2], &e) || e.Code != 42913 || e.StatusCode != 429 || !e.Temporary || !strings.Contains(e.Error(), "public:busy") {
			t.Fatalf("rate-limited channel: %v", fails[2])
		}
	}
	t.Run("HTTP 400 code 40020 with batchResponse", func(t *testing.T) {
		s := newAblyStandIn(t)
		s.respond = func(w http.ResponseWriter, specs []ablySpec) bool {
			var items []map[string]any
			for _, sp := range specs {
				for _, ch := range sp.Channels {
					items = append(items, perChannel(ch))
				}
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Ably-Errorcode", "40020")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{
				"error":         map[string]any{"message": "Batched response includes errors", "code": 40020, "statusCode": 400},
				"batchResponse": items,
			})
			return true
		}
		check(t, newTestAbly(t, s.config()).Broadcast(context.Background(), msgs))
	})
	t.Run("per-spec results with failureCount", func(t *testing.T) {
		s := newAblyStandIn(t)
		s.respond = func(w http.ResponseWriter, specs []ablySpec) bool {
			var out []map[string]any
			for _, sp := range specs {
				var results []map[string]any
				failures := 0
				for _, ch := range sp.Channels {
					r := perChannel(ch)
					if r["error"] != nil {
						failures++
					}
					results = append(results, r)
				}
				out = append(out, map[string]any{"successCount": len(results) - failures, "failureCount": failures, "results": results})
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(out)
			return true
		}
		check(t, newTestAbly(t, s.config()).Broadcast(context.Background(), msgs))
	})
}

func TestAblyErrorClassification(t *testing.T) {
	for _, c := range []struct {
		status, code int
		temporary    bool
	}{{401, 40101, true}, {403, 40300, true}, {413, 40009, false}, {429, 42913, true}, {500, 50000, true}, {503, 50300, true}} {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			s := newAblyStandIn(t)
			s.respond = func(w http.ResponseWriter, specs []ablySpec) bool {
				writeAblyError(w, c.status, c.code, "refused by test")
				return true
			}
			d := newTestAbly(t, s.config())
			err := d.Broadcast(context.Background(), []Message{{Name: "x", Channels: []string{"a"}, Data: "1"}, {Name: "y", Channels: []string{"b"}, Data: "2"}})
			for i, f := range Failures(err, 2) {
				var e *Error
				if !errors.As(f, &e) || e.Provider != "ably" || e.StatusCode != c.status || e.Code != c.code || e.Temporary != c.temporary {
					t.Fatalf("message %d: %#v, want status %d code %d temporary %v", i, f, c.status, c.code, c.temporary)
				}
				if !strings.Contains(e.Error(), "refused by test") || strings.Contains(e.Error(), "ably-test-secret") {
					t.Fatalf("error text %q", e)
				}
			}
		})
	}
	t.Run("timeout: server stalls past the deadline", func(t *testing.T) {
		s := newAblyStandIn(t)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		s.respond = func(w http.ResponseWriter, specs []ablySpec) bool {
			<-release
			return true
		}
		cfg := s.config()
		cfg.HTTPClient = &http.Client{Timeout: time.Hour} // only ctx can end the call
		d := newTestAbly(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- d.Broadcast(ctx, []Message{{Name: "x", Channels: []string{"a"}, Data: "1"}}) }()
		select {
		case err := <-done:
			var e *Error
			if !errors.As(err, &e) || !e.Temporary || e.StatusCode != 0 || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want temporary deadline error", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("Broadcast outlived its context")
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		d := newTestAbly(t, AblyConfig{Key: testAblyKey, Host: "127.0.0.1", Port: port, Scheme: "http"})
		err = d.Broadcast(context.Background(), []Message{{Name: "x", Channels: []string{"a"}, Data: "1"}})
		var e *Error
		if !errors.As(err, &e) || !e.Temporary || e.StatusCode != 0 {
			t.Fatalf("err = %v, want temporary transport error", err)
		}
	})
}

func TestAblyRefusesWhatTheAdapterCannotCarry(t *testing.T) {
	s := newAblyStandIn(t)
	d := newTestAbly(t, s.config())
	msgs := []Message{
		{Name: "secret", Channels: []string{"private-encrypted-x"}, Data: "1"},
		{Name: "user", Channels: []string{"#server-to-user-42"}, Data: "1"},
		{Name: "big", Channels: []string{"a"}, Data: strings.Repeat("x", protocol.AblyMaxMessageBytes)},
		{Name: "fine", Channels: []string{"b"}, Data: "1", SocketID: "1.2"},
	}
	fails := Failures(d.Broadcast(context.Background(), msgs), len(msgs))
	for i, want := range []string{"private-encrypted", "user channels", "the limit is 65536", ""} {
		if want == "" {
			if fails[i] != nil {
				t.Errorf("message %d: %v", i, fails[i])
			}
			continue
		}
		if fails[i] == nil || IsTemporary(fails[i]) || !strings.Contains(fails[i].Error(), want) {
			t.Errorf("message %d: %v, want permanent %q", i, fails[i], want)
		}
	}
	if reqs := s.accepted(); len(reqs) != 1 || len(reqs[0]) != 1 || reqs[0][0].Channels[0] != "public:b" {
		t.Fatalf("sent %+v", reqs)
	}
}

func TestAblyConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  AblyConfig
		want string
	}{
		{"good", AblyConfig{Key: testAblyKey}, ""},
		{"empty", AblyConfig{}, "ABLY_KEY is empty"},
		{"no secret", AblyConfig{Key: "appid.keyid"}, `ABLY_KEY must have the form appId.keyId:secret (no ":" found)`},
		{"no key id", AblyConfig{Key: "appid:ably-test-secret"}, `ABLY_KEY must have the form appId.keyId:secret (the part before ":" is not appId.keyId)`},
		{"scheme", AblyConfig{Key: testAblyKey, Scheme: "ws"}, `ABLY_SCHEME "ws" must be http or https`},
		{"port", AblyConfig{Key: testAblyKey, Port: -1}, "ABLY_PORT -1 is not a TCP port (1-65535)"},
		{"host", AblyConfig{Key: testAblyKey, Host: "http://x"}, `ABLY_HOST "http://x" must be a host name, without scheme or path`},
		{"concurrency", AblyConfig{Key: testAblyKey, Concurrency: 257}, "BROADCAST_CONCURRENCY 257 must be between 1 and 256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != c.want {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "ably-test-secret") {
				t.Fatal("error reveals the key's secret")
			}
		})
	}
}

// Requests are split by their encoded size, escapes included: 12 messages
// whose 60,000 characters each encode to 360,000 bytes need at least three
// requests under Ably's 2 MiB, and the stand-in refuses any larger body.
func TestAblySplitsByEncodedSize(t *testing.T) {
	s := newAblyStandIn(t)
	d := newTestAbly(t, s.config())
	msgs := make([]Message, 12)
	for i := range msgs {
		msgs[i] = Message{Name: "Big", Channels: []string{"private-big." + strconv.Itoa(i)}, Data: strings.Repeat("<", 60000), ID: "big-" + strconv.Itoa(i)}
	}
	if err := d.Broadcast(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	reqs := s.accepted()
	got := 0
	for _, specs := range reqs {
		got += len(specs)
	}
	if got != len(msgs) || len(reqs) < 3 {
		t.Fatalf("%d messages in %d requests, want %d in at least 3", got, len(reqs), len(msgs))
	}
}
