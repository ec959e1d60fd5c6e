package broadcast

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
	"golang.org/x/crypto/nacl/secretbox"
)

// Pusher's published example credentials.
const (
	exampleAppID  = "3"
	exampleKey    = "278d425bdf160c739803"
	exampleSecret = "7ad3773142a6692b25b8"
)

// pusherRequest is one request the stand-in accepted, decoded.
type pusherRequest struct {
	Path  string
	Query url.Values
	Body  []byte
	// Trigger is set for /events, Batch for /batch_events.
	Trigger *pusherTrigger
	Batch   []pusherBatchEvent
}

type pusherTrigger struct {
	Name     string   `json:"name"`
	Channels []string `json:"channels"`
	Data     string   `json:"data"`
	SocketID string   `json:"socket_id"`
}

type pusherBatchEvent struct {
	Channel  string `json:"channel"`
	Name     string `json:"name"`
	Data     string `json:"data"`
	SocketID string `json:"socket_id"`
}

// channels returns the channels the request names, in order.
func (r pusherRequest) channels() []string {
	if r.Trigger != nil {
		return r.Trigger.Channels
	}
	var out []string
	for _, e := range r.Batch {
		out = append(out, e.Channel)
	}
	return out
}

// pusherStandIn speaks Pusher's HTTP API: it checks every request's
// signature with the published credentials and answers as Pusher does,
// unless respond decides otherwise.
type pusherStandIn struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []pusherRequest
	// respond, when set, answers instead of the default 200; returning 0
	// means "answer normally".
	respond func(w http.ResponseWriter, r *http.Request, req pusherRequest) int
}

func newPusherStandIn(t *testing.T) *pusherStandIn {
	s := &pusherStandIn{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *pusherStandIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	err := signature.VerifyRequest(r.Method, r.URL.Path, r.URL.Query(), body, func(key string) (string, bool) {
		return exampleSecret, key == exampleKey
	}, time.Now())
	if err != nil {
		s.t.Errorf("%s: signature refused: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	req := pusherRequest{Path: r.URL.Path, Query: r.URL.Query(), Body: body}
	switch r.URL.Path {
	case "/apps/" + exampleAppID + "/events":
		req.Trigger = &pusherTrigger{}
		if err := json.Unmarshal(body, req.Trigger); err != nil {
			s.t.Errorf("trigger body: %v", err)
		}
	case "/apps/" + exampleAppID + "/batch_events":
		var b struct {
			Batch []pusherBatchEvent `json:"batch"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			s.t.Errorf("batch body: %v", err)
		}
		req.Batch = b.Batch
		if len(b.Batch) > protocol.MaxBatchEvents {
			http.Error(w, "Batch too large", http.StatusBadRequest)
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	if s.respond != nil {
		if status := s.respond(w, r, req); status != 0 {
			return
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if req.Batch != nil {
		io.WriteString(w, `{"batch":[`+strings.Repeat(`{},`, len(req.Batch)-1)+`{}]}`)
		return
	}
	io.WriteString(w, `{}`)
}

func (s *pusherStandIn) accepted() []pusherRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pusherRequest(nil), s.requests...)
}

func (s *pusherStandIn) config() PusherConfig {
	u, _ := url.Parse(s.srv.URL)
	host, port, _ := net.SplitHostPort(u.Host)
	p, _ := strconv.Atoi(port)
	return PusherConfig{AppID: exampleAppID, Key: exampleKey, Secret: exampleSecret, Host: host, Port: p, Scheme: "http"}
}

func newTestPusher(t *testing.T, cfg PusherConfig) *Pusher {
	t.Helper()
	d, err := NewPusher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPusherSigningKnownAnswer(t *testing.T) {
	// Pusher's published example, through herald's signer...
	body := []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	q := signature.SignRequest("POST", "/apps/3/events", nil, body, exampleKey, exampleSecret, time.Unix(1353088179, 0))
	if got := q.Get("body_md5"); got != "ec365a775a4cd0599faeb73354201b6f" {
		t.Fatalf("body_md5 = %s", got)
	}
	if got := q.Get("auth_signature"); got != "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c" {
		t.Fatalf("auth_signature = %s", got)
	}

	// ...and what the driver puts on the wire is signed the same way: the
	// stand-in verifies each request, and re-signing the received body at
	// the received timestamp reproduces the received signature exactly.
	s := newPusherStandIn(t)
	d := newTestPusher(t, s.config())
	msgs := []Message{
		{Name: "foo", Channels: []string{"project-3"}, Data: `{"some":"data"}`},
		{Name: "foo", Channels: []string{"project-3", "project-4"}, Data: `{"some":"data"}`},
	}
	if err := d.Broadcast(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	reqs := s.accepted()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		ts, _ := strconv.ParseInt(r.Query.Get("auth_timestamp"), 10, 64)
		want := signature.SignRequest("POST", r.Path, nil, r.Body, exampleKey, exampleSecret, time.Unix(ts, 0))
		for _, k := range []string{"auth_key", "auth_version", "body_md5", "auth_signature"} {
			if r.Query.Get(k) != want.Get(k) {
				t.Errorf("%s: %s = %q, want %q", r.Path, k, r.Query.Get(k), want.Get(k))
			}
		}
	}
}

func TestPusherChunking(t *testing.T) {
	t.Run("25 single-channel events are 3 batch_events calls", func(t *testing.T) {
		s := newPusherStandIn(t)
		d := newTestPusher(t, s.config())
		var msgs []Message
		for i := range 25 {
			msgs = append(msgs, Message{Name: "EmailSent", Channels: []string{fmt.Sprintf("private-App.Models.User.%d", i)}, Data: fmt.Sprintf(`{"n":%d}`, i)})
		}
		if err := d.Broadcast(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		reqs := s.accepted()
		var sizes []int
		seen := map[string]bool{}
		for _, r := range reqs {
			if r.Path != "/apps/3/batch_events" {
				t.Fatalf("unexpected call %s", r.Path)
			}
			sizes = append(sizes, len(r.Batch))
			for _, e := range r.Batch {
				if e.Name != "EmailSent" || seen[e.Channel] {
					t.Fatalf("bad or repeated event %+v", e)
				}
				seen[e.Channel] = true
			}
		}
		if fmt.Sprint(sortedInts(sizes)) != "[5 10 10]" {
			t.Fatalf("batch sizes %v, want 10, 10, 5", sizes)
		}
		if len(seen) != 25 {
			t.Fatalf("%d events delivered, want 25", len(seen))
		}
	})
	t.Run("250 channels are 3 triggers", func(t *testing.T) {
		s := newPusherStandIn(t)
		d := newTestPusher(t, s.config())
		var chans []string
		for i := range 250 {
			chans = append(chans, fmt.Sprintf("presence-chat.%d", i))
		}
		if err := d.Broadcast(context.Background(), []Message{{Name: "Announcement", Channels: chans, Data: `{}`}}); err != nil {
			t.Fatal(err)
		}
		reqs := s.accepted()
		var sizes []int
		var got []string
		for _, r := range reqs {
			if r.Trigger == nil {
				t.Fatalf("unexpected call %s", r.Path)
			}
			sizes = append(sizes, len(r.Trigger.Channels))
			got = append(got, r.Trigger.Channels...)
		}
		if fmt.Sprint(sortedInts(sizes)) != "[50 100 100]" {
			t.Fatalf("trigger sizes %v, want 100, 100, 50", sizes)
		}
		if fmt.Sprint(sortedStrings(got)) != fmt.Sprint(sortedStrings(chans)) {
			t.Fatal("triggers do not cover the 250 channels exactly once")
		}
	})
}

func TestPusherSocketIDOnTheWire(t *testing.T) {
	s := newPusherStandIn(t)
	d := newTestPusher(t, s.config())
	msgs := []Message{
		{Name: "a", Channels: []string{"private-a"}, Data: "1", SocketID: "123.456"},
		{Name: "b", Channels: []string{"private-b", "private-c"}, Data: "2", SocketID: "7.8"},
		{Name: "c", Channels: []string{"private-d"}, Data: "3"},
	}
	if err := d.Broadcast(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range s.accepted() {
		if r.Trigger != nil {
			got[r.Trigger.Name] = r.Trigger.SocketID
		}
		for _, e := range r.Batch {
			got[e.Name] = e.SocketID
		}
	}
	want := map[string]string{"a": "123.456", "b": "7.8", "c": ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("socket_id per event %v, want %v", got, want)
	}
	for _, r := range s.accepted() {
		if bytesContains(r.Body, `"socket_id":""`) {
			t.Fatalf("empty socket_id sent: %s", r.Body)
		}
	}
}

func TestPusherEncryptedChannel(t *testing.T) {
	masterKey := []byte("0123456789abcdef0123456789abcdef")
	s := newPusherStandIn(t)
	cfg := s.config()
	cfg.EncryptionMasterKeyBase64 = base64.StdEncoding.EncodeToString(masterKey)
	d := newTestPusher(t, cfg)
	const ch = "private-encrypted-App.Models.User.42"
	plain := `{"subject":"Welcome"}`
	err := d.Broadcast(context.Background(), []Message{
		{Name: "EmailSent", Channels: []string{ch}, Data: plain},
		{Name: "Mixed", Channels: []string{ch, "private-other"}, Data: plain},
	})
	fails := Failures(err, 2)
	if fails[0] != nil {
		t.Fatalf("encrypted event: %v", fails[0])
	}
	if fails[1] == nil || IsTemporary(fails[1]) || !strings.Contains(fails[1].Error(), "only channel") {
		t.Fatalf("encrypted channel beside another: %v, want a permanent refusal", fails[1])
	}
	reqs := s.accepted()
	if len(reqs) != 1 || len(reqs[0].Batch) != 1 {
		t.Fatalf("requests %+v", reqs)
	}
	data := reqs[0].Batch[0].Data
	if strings.Contains(data, "Welcome") {
		t.Fatalf("plaintext on the wire: %s", data)
	}
	if len(data) != encryptedSize(len(plain)) {
		t.Fatalf("encrypted data is %d bytes, the size check assumed %d", len(data), encryptedSize(len(plain)))
	}
	var box struct{ Nonce, Ciphertext string }
	if err := json.Unmarshal([]byte(data), &box); err != nil {
		t.Fatalf("encrypted data %q: %v", data, err)
	}
	shared, _ := base64.StdEncoding.DecodeString(signature.SharedSecret(ch, masterKey))
	if want := sha256.Sum256(append([]byte(ch), masterKey...)); string(shared) != string(want[:]) {
		t.Fatal("shared secret is not SHA-256(channel || master key)")
	}
	var key [32]byte
	var nonce [24]byte
	copy(key[:], shared)
	n, _ := base64.StdEncoding.DecodeString(box.Nonce)
	copy(nonce[:], n)
	ct, _ := base64.StdEncoding.DecodeString(box.Ciphertext)
	opened, ok := secretbox.Open(nil, ct, &nonce, &key)
	if !ok || string(opened) != plain {
		t.Fatalf("decrypted %q (ok %v), want %q", opened, ok, plain)
	}

	t.Run("without a master key the message is refused alone", func(t *testing.T) {
		s := newPusherStandIn(t)
		d := newTestPusher(t, s.config())
		err := d.Broadcast(context.Background(), []Message{
			{Name: "x", Channels: []string{ch}, Data: plain},
			{Name: "y", Channels: []string{"public"}, Data: plain},
		})
		fails := Failures(err, 2)
		if fails[0] == nil || !strings.Contains(fails[0].Error(), "PUSHER_ENCRYPTION_MASTER_KEY_BASE64") || fails[1] != nil {
			t.Fatalf("failures %v", fails)
		}
	})
}

// Data a server SDK already encrypted with the master key reaches Pusher as
// it is, with or without a master key here: encrypted once.
func TestPusherEncryptedBySender(t *testing.T) {
	masterKey := []byte("0123456789abcdef0123456789abcdef")
	const ch = "private-encrypted-App.Models.User.42"
	var nonce [24]byte
	copy(nonce[:], "a nonce of 24 bytes.....")
	var key [32]byte
	shared, _ := base64.StdEncoding.DecodeString(signature.SharedSecret(ch, masterKey))
	copy(key[:], shared)
	sealed := `{"nonce":"` + base64.StdEncoding.EncodeToString(nonce[:]) + `","ciphertext":"` +
		base64.StdEncoding.EncodeToString(secretbox.Seal(nil, []byte(`{"subject":"Welcome"}`), &nonce, &key)) + `"}`
	for _, withKey := range []bool{false, true} {
		t.Run(fmt.Sprintf("master key here %v", withKey), func(t *testing.T) {
			s := newPusherStandIn(t)
			cfg := s.config()
			if withKey {
				cfg.EncryptionMasterKeyBase64 = base64.StdEncoding.EncodeToString(masterKey)
			}
			d := newTestPusher(t, cfg)
			sid := "1234.5678"
			if err := d.Broadcast(context.Background(), []Message{{Name: "EmailSent", Channels: []string{ch}, Data: sealed, SocketID: sid}}); err != nil {
				t.Fatal(err)
			}
			reqs := s.accepted()
			if len(reqs) != 1 || reqs[0].Trigger == nil {
				t.Fatalf("requests %+v, want one signed trigger", reqs)
			}
			tr := reqs[0].Trigger
			if tr.Data != sealed || tr.SocketID != sid || fmt.Sprint(tr.Channels) != "["+ch+"]" {
				t.Fatalf("sent %+v, want the sender's ciphertext unchanged", tr)
			}
		})
	}
	for _, data := range []string{
		`{"nonce":"short","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA=="}`,
		`{"nonce":"` + base64.StdEncoding.EncodeToString(nonce[:]) + `","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA==","extra":1}`,
		`{"subject":"Welcome"}`,
	} {
		if encryptedForm(data) {
			t.Errorf("encryptedForm(%s) = true, want false: it would reach subscribers unencrypted", data)
		}
	}
}

func TestPusherValidationFailsAlone(t *testing.T) {
	s := newPusherStandIn(t)
	d := newTestPusher(t, s.config())
	msgs := []Message{
		{Name: "ok", Channels: []string{"a"}, Data: "x"},
		{Name: "big", Channels: []string{"b"}, Data: strings.Repeat("x", protocol.MaxDataBytes+1)},
		{Name: "sock", Channels: []string{"c"}, Data: "x", SocketID: "abc"},
		{Name: "bad", Channels: []string{"private-a b"}, Data: "x"},
		{Name: "", Channels: []string{"d"}, Data: "x"},
		{Name: "none", Data: "x"},
		{Name: "edge", Channels: []string{"e"}, Data: strings.Repeat("x", protocol.MaxDataBytes)},
	}
	fails := Failures(d.Broadcast(context.Background(), msgs), len(msgs))
	want := []string{"", "data is 10241 bytes, the limit is 10240", "socket_id", "channel names may contain only", "event name is empty", "names no channel", ""}
	for i, w := range want {
		switch {
		case w == "" && fails[i] != nil:
			t.Errorf("message %d: %v", i, fails[i])
		case w != "" && (fails[i] == nil || !strings.Contains(fails[i].Error(), w) || IsTemporary(fails[i])):
			t.Errorf("message %d: %v, want permanent error containing %q", i, fails[i], w)
		}
	}
	var e *Error
	if !errors.As(fails[1], &e) || e.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize data: %#v, want status 413", fails[1])
	}
	if reqs := s.accepted(); len(reqs) != 1 || len(reqs[0].Batch) != 2 {
		t.Fatalf("sent %+v, want one batch with the two valid events", reqs)
	}

	t.Run("PUSHER_MAX_DATA_BYTES raises the limit", func(t *testing.T) {
		cfg := s.config()
		cfg.MaxDataBytes = 20000
		d := newTestPusher(t, cfg)
		if d.Limits().MaxDataBytes != 20000 {
			t.Fatalf("limits %+v", d.Limits())
		}
		if err := d.Broadcast(context.Background(), []Message{{Name: "big", Channels: []string{"b"}, Data: strings.Repeat("x", 20000)}}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPusherOrderUnderConcurrency(t *testing.T) {
	s := newPusherStandIn(t)
	var mu sync.Mutex
	inFlight := map[string]int{}
	var overlap []string
	maxInFlight, current := 0, 0
	s.respond = func(w http.ResponseWriter, r *http.Request, req pusherRequest) int {
		chans := dedupe(req.channels())
		mu.Lock()
		current++
		maxInFlight = max(maxInFlight, current)
		for _, ch := range chans {
			if inFlight[ch] > 0 {
				overlap = append(overlap, ch)
			}
			inFlight[ch]++
		}
		mu.Unlock()
		// Hold the request briefly so that unordered sending would show.
		time.Sleep(time.Duration(len(req.Body)%5) * time.Millisecond)
		mu.Lock()
		current--
		for _, ch := range chans {
			inFlight[ch]--
		}
		mu.Unlock()
		return 0
	}
	cfg := s.config()
	cfg.Concurrency = 8
	d := newTestPusher(t, cfg)
	var msgs []Message
	for i := range 300 {
		m := Message{Name: "seq", Channels: []string{fmt.Sprintf("room-%d", i%7)}, Data: strconv.Itoa(i)}
		if i%23 == 0 { // some multi-channel triggers across rooms
			m.Channels = append(m.Channels, fmt.Sprintf("room-%d", (i+3)%7), fmt.Sprintf("lobby-%d", i%2))
		}
		if i%31 == 0 {
			m.Channels = []string{"#server-to-user-" + strconv.Itoa(i%3)}
		}
		msgs = append(msgs, m)
	}
	if err := d.Broadcast(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	got := map[string][]int{}
	for _, r := range s.accepted() {
		if r.Trigger != nil {
			n, _ := strconv.Atoi(r.Trigger.Data)
			for _, ch := range r.Trigger.Channels {
				got[ch] = append(got[ch], n)
			}
		}
		for _, e := range r.Batch {
			n, _ := strconv.Atoi(e.Data)
			got[e.Channel] = append(got[e.Channel], n)
		}
	}
	want := map[string][]int{}
	for i, m := range msgs {
		for _, ch := range m.Channels {
			want[ch] = append(want[ch], i)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("per-channel arrival order\n got %v\nwant %v", got, want)
	}
	if len(overlap) > 0 {
		t.Fatalf("requests on %v overlapped", overlap)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxInFlight > cfg.Concurrency {
		t.Fatalf("%d requests in flight at once, Concurrency is %d", maxInFlight, cfg.Concurrency)
	}
}

// Calls are prepared ahead of the network, but never more than Concurrency
// requests are in flight, and a request's timeout counts from when it is
// admitted: three 150 ms requests one at a time all succeed under a 250 ms
// timeout, though the last waits 300 ms for its turn.
func TestPusherConcurrencyIsANetworkBound(t *testing.T) {
	s := newPusherStandIn(t)
	var mu sync.Mutex
	current, most := 0, 0
	s.respond = func(w http.ResponseWriter, r *http.Request, req pusherRequest) int {
		mu.Lock()
		current++
		most = max(most, current)
		mu.Unlock()
		time.Sleep(150 * time.Millisecond)
		mu.Lock()
		current--
		mu.Unlock()
		return 0
	}
	cfg := s.config()
	cfg.Concurrency = 1
	cfg.HTTPClient = &http.Client{Timeout: 250 * time.Millisecond}
	d := newTestPusher(t, cfg)
	// A message naming two channels is a trigger call of its own, so these
	// are three requests.
	msgs := make([]Message, 3)
	for i := range msgs {
		msgs[i] = Message{Name: "e", Channels: []string{"c" + strconv.Itoa(i), "d" + strconv.Itoa(i)}, Data: "{}"}
	}
	if err := d.Broadcast(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(s.accepted()) != 3 || most != 1 {
		t.Fatalf("%d requests accepted, %d at most in flight; want 3 and 1", len(s.accepted()), most)
	}
}

func TestPusherUnrelatedCallsOverlap(t *testing.T) {
	// Two calls on unrelated channels must be in flight together: the first
	// request is held until the second arrives.
	s := newPusherStandIn(t)
	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	s.respond = func(w http.ResponseWriter, r *http.Request, req pusherRequest) int {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return 0
	}
	d := newTestPusher(t, s.config())
	var chans []string
	for i := range 200 {
		chans = append(chans, "c"+strconv.Itoa(i))
	}
	done := make(chan error, 1)
	go func() {
		done <- d.Broadcast(context.Background(), []Message{{Name: "x", Channels: chans, Data: "1"}})
	}()
	for range 2 {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the second trigger never arrived while the first was in flight")
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPusherErrorClassification(t *testing.T) {
	for _, c := range []struct {
		status    int
		temporary bool
	}{{400, false}, {401, true}, {403, true}, {404, false}, {413, false}, {429, true}, {500, true}, {503, true}} {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			s := newPusherStandIn(t)
			s.respond = func(w http.ResponseWriter, r *http.Request, req pusherRequest) int {
				http.Error(w, "refused by test", c.status)
				return c.status
			}
			d := newTestPusher(t, s.config())
			err := d.Broadcast(context.Background(), []Message{{Name: "x", Channels: []string{"a"}, Data: "1"}, {Name: "y", Channels: []string{"b", "c"}, Data: "2"}})
			for i, f := range Failures(err, 2) {
				var e *Error
				if !errors.As(f, &e) {
					t.Fatalf("message %d: %v is not *Error", i, f)
				}
				if e.Provider != "pusher" || e.StatusCode != c.status || e.Temporary != c.temporary || IsTemporary(f) != c.temporary {
					t.Fatalf("message %d: %+v, want status %d temporary %v", i, e, c.status, c.temporary)
				}
				if !strings.Contains(e.Error(), "refused by test") {
					t.Fatalf("error %q lacks the provider's message", e)
				}
				if strings.Contains(e.Error(), exampleSecret) {
					t.Fatal("error contains the secret")
				}
			}
		})
	}

	t.Run("timeout: server stalls past the deadline", func(t *testing.T) {
		s := newPusherStandIn(t)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		sawCancel := make(chan struct{}, 8)
		s.respond = func(w http.ResponseWriter, r *http.Request, req pusherRequest) int {
			select {
			case <-release:
			case <-r.Context().Done():
				sawCancel <- struct{}{}
			}
			return http.StatusGatewayTimeout
		}
		cfg := s.config()
		cfg.HTTPClient = &http.Client{Timeout: time.Hour} // only ctx can end the call
		d := newTestPusher(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		// 11 events on one channel: the second call waits for the stalled
		// first one and is never started.
		var msgs []Message
		for i := range 11 {
			msgs = append(msgs, Message{Name: "x", Channels: []string{"a"}, Data: strconv.Itoa(i)})
		}
		go func() { done <- d.Broadcast(ctx, msgs) }()
		var err error
		select {
		case err = <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("Broadcast outlived its context")
		}
		for i, f := range Failures(err, len(msgs)) {
			var e *Error
			if !errors.As(f, &e) || !e.Temporary || e.StatusCode != 0 || !errors.Is(f, context.DeadlineExceeded) {
				t.Fatalf("message %d: %v, want temporary deadline error", i, f)
			}
		}
		if !strings.Contains(Failures(err, len(msgs))[10].Error(), "not sent") {
			t.Fatalf("the waiting call was started: %v", Failures(err, len(msgs))[10])
		}
		select {
		case <-sawCancel:
		case <-time.After(30 * time.Second):
			t.Fatal("the stalled request was not cancelled")
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		d := newTestPusher(t, PusherConfig{AppID: "3", Key: exampleKey, Secret: exampleSecret, Host: "127.0.0.1", Port: port, Scheme: "http"})
		err = d.Broadcast(context.Background(), []Message{{Name: "x", Channels: []string{"a"}, Data: "1"}})
		var e *Error
		if !errors.As(err, &e) || !e.Temporary || e.StatusCode != 0 {
			t.Fatalf("err = %v, want temporary transport error", err)
		}
	})

	t.Run("cancelled context: nothing sent, temporary", func(t *testing.T) {
		s := newPusherStandIn(t)
		d := newTestPusher(t, s.config())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := d.Broadcast(ctx, []Message{{Name: "x", Channels: []string{"a"}, Data: "1"}})
		if err == nil || !IsTemporary(err) || !errors.Is(err, context.Canceled) || len(s.accepted()) != 0 {
			t.Fatalf("err = %v, sent %d", err, len(s.accepted()))
		}
	})
}

func TestPusherPartialFailure(t *testing.T) {
	s := newPusherStandIn(t)
	s.respond = func(w http.ResponseWriter, r *http.Request, req pusherRequest) int {
		if slices.Contains(req.channels(), "hot") {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return http.StatusServiceUnavailable
		}
		return 0
	}
	d := newTestPusher(t, s.config())
	var msgs []Message
	// 11 events on "hot": the first 10 share a failing call; the 11th must
	// not overtake them and is held back. Events elsewhere go through.
	for i := range 11 {
		msgs = append(msgs, Message{Name: "h", Channels: []string{"hot"}, Data: strconv.Itoa(i)})
	}
	for i := range 5 {
		msgs = append(msgs, Message{Name: "c", Channels: []string{"cold-" + strconv.Itoa(i)}, Data: "c"})
	}
	err := d.Broadcast(context.Background(), msgs)
	var be *BatchError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want *BatchError", err)
	}
	fails := Failures(err, len(msgs))
	for i := range msgs {
		switch {
		case i < 10:
			var e *Error
			if !errors.As(fails[i], &e) || e.StatusCode != 503 || !e.Temporary {
				t.Errorf("message %d: %v, want temporary 503", i, fails[i])
			}
		case i == 10:
			if fails[i] == nil || !IsTemporary(fails[i]) || !strings.Contains(fails[i].Error(), "not sent") {
				t.Errorf("message 10: %v, want held back", fails[i])
			}
		default:
			if fails[i] != nil {
				t.Errorf("message %d: %v", i, fails[i])
			}
		}
	}
	for _, r := range s.accepted() {
		if slices.Contains(r.channels(), "hot") {
			t.Fatal("a hot event was accepted")
		}
	}
}

func TestPusherConfigValidate(t *testing.T) {
	good := PusherConfig{AppID: "3", Key: "k", Secret: "s3cr3t-value"}
	key32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, c := range []struct {
		name string
		edit func(*PusherConfig)
		want string
	}{
		{"good", func(*PusherConfig) {}, ""},
		{"good with key", func(c *PusherConfig) { c.EncryptionMasterKeyBase64 = key32 }, ""},
		{"app id", func(c *PusherConfig) { c.AppID = "" }, "PUSHER_APP_ID is empty"},
		{"key", func(c *PusherConfig) { c.Key = "" }, "PUSHER_APP_KEY is empty"},
		{"secret", func(c *PusherConfig) { c.Secret = "" }, "PUSHER_APP_SECRET is empty"},
		{"scheme", func(c *PusherConfig) { c.Scheme = "ftp" }, `PUSHER_SCHEME "ftp" must be http or https`},
		{"port", func(c *PusherConfig) { c.Port = 70000 }, "PUSHER_PORT 70000 is not a TCP port (1-65535)"},
		{"host", func(c *PusherConfig) { c.Host = "https://api.example.com" }, "PUSHER_HOST"},
		{"key not base64", func(c *PusherConfig) { c.EncryptionMasterKeyBase64 = "not base64!" }, "PUSHER_ENCRYPTION_MASTER_KEY_BASE64 is not valid base64"},
		{"key short", func(c *PusherConfig) {
			c.EncryptionMasterKeyBase64 = base64.StdEncoding.EncodeToString([]byte("short"))
		}, "PUSHER_ENCRYPTION_MASTER_KEY_BASE64 must decode to 32 bytes, it decodes to 5"},
		{"max data", func(c *PusherConfig) { c.MaxDataBytes = -1 }, "PUSHER_MAX_DATA_BYTES -1 is negative"},
		{"concurrency", func(c *PusherConfig) { c.Concurrency = 1000 }, "BROADCAST_CONCURRENCY 1000 must be between 1 and 256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			err := cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != c.want && !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if (cfg.Secret != "" && strings.Contains(err.Error(), cfg.Secret)) || (cfg.EncryptionMasterKeyBase64 != "" && strings.Contains(err.Error(), cfg.EncryptionMasterKeyBase64)) {
				t.Fatal("error reveals a secret")
			}
			if _, err := NewPusher(cfg); err == nil {
				t.Fatal("NewPusher accepted an invalid config")
			}
		})
	}
}

func TestPusherPlanKeepsABusyChannelApart(t *testing.T) {
	// 50 events on one channel interleaved with 50 on distinct channels: the
	// busy channel's events fill their own 5 calls, so the other 5 calls
	// wait on nothing.
	d := newTestPusher(t, PusherConfig{AppID: "3", Key: exampleKey, Secret: exampleSecret})
	var msgs []Message
	for i := range 50 {
		msgs = append(msgs, Message{Name: "x", Channels: []string{"hot"}, Data: strconv.Itoa(i)},
			Message{Name: "y", Channels: []string{"cold-" + strconv.Itoa(i)}, Data: "c"})
	}
	_, calls := d.plan(msgs)
	if len(calls) != 10 {
		t.Fatalf("%d calls, want 10", len(calls))
	}
	hot := 0
	for _, c := range calls {
		if slices.Contains(c.channels, "hot") {
			hot++
			if len(c.channels) != 1 {
				t.Fatalf("busy channel shares a call with %v", c.channels)
			}
		}
	}
	if hot != 5 {
		t.Fatalf("busy channel spans %d calls, want 5", hot)
	}
	var order []int
	for _, c := range calls {
		if c.channels[0] == "hot" {
			order = append(order, c.msgs...)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Fatalf("busy channel's events out of order: %v", order)
		}
	}
}
