package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"
	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/signature"
)

// testMasterKey is the end-to-end encryption master key of these tests.
var testMasterKey = []byte("0123456789abcdef0123456789abcdef")

// nodeHarness is what the Node scripts under testdata talk to besides the
// server: an auth endpoint signing with shared/signature (standing in for
// the auth function), and triggers sent through the Go SDKs herald's
// drivers use (pusher-http-go, ably-go), so that pusher-js receives what
// those SDKs produced.
type nodeHarness struct {
	t    testing.TB
	ts   *testServer
	pc   *pusher.Client
	ably *ably.REST
	url  string
}

func startNodeHarness(t *testing.T) *nodeHarness {
	t.Helper()
	testkit.NodeModules(t)
	ts := startServer(t, testConfig())
	pc := pusherClient(ts)
	pc.EncryptionMasterKeyBase64 = base64.StdEncoding.EncodeToString(testMasterKey)
	h := &nodeHarness{t: t, ts: ts, pc: pc, ably: ablyClient(t, ts, testAblyKey)}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/channel", h.channelAuth)
	mux.HandleFunc("POST /auth/user", h.userAuth)
	mux.HandleFunc("POST /trigger", h.trigger)
	mux.HandleFunc("POST /query", h.query)
	mux.HandleFunc("POST /ably", h.ablyPublish)
	mux.HandleFunc("GET /browser", h.browserPage)
	mux.HandleFunc("GET /pusher.js", h.pusherJS)
	l := testkit.Listen(t)
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	h.url = "http://" + l.Addr().String()
	return h
}

func (h *nodeHarness) env() []string {
	host, port, _ := strings.Cut(h.ts.addr, ":")
	return []string{
		"PUSHER_HOST=" + host,
		"PUSHER_PORT=" + port,
		"PUSHER_APP_ID=" + testAppID,
		"PUSHER_KEY=" + testKey,
		"PUSHER_SECRET=" + testSecret,
		"ABLY_PUSHER_KEY=" + ablyKey.Name,
		"HARNESS_URL=" + h.url,
	}
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// channelAuth signs a subscription as the auth function would. The user
// is the ?user= parameter; channels named private-forbidden* get a
// signature made with the wrong secret, so the server must refuse them.
func (h *nodeHarness) channelAuth(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SocketID string `json:"socket_id"`
		Channel  string `json:"channel_name"`
		Key      string `json:"key"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	key, secret := testKey, testSecret
	if req.Key != "" && req.Key != testKey {
		key, secret = ablyKey.Name, ablyKey.Secret
	}
	if strings.HasPrefix(req.Channel, "private-forbidden") {
		secret = "not-the-secret"
	}
	out := map[string]string{}
	channelData := ""
	if strings.HasPrefix(req.Channel, "presence-") {
		user := r.URL.Query().Get("user")
		channelData = fmt.Sprintf(`{"user_id":%q,"user_info":{"name":%q}}`, user, user)
		out["channel_data"] = channelData
	}
	out["auth"] = signature.ChannelAuth(key, secret, req.SocketID, req.Channel, channelData)
	if strings.HasPrefix(req.Channel, "private-encrypted-") {
		out["shared_secret"] = signature.SharedSecret(req.Channel, testMasterKey)
	}
	json.NewEncoder(w).Encode(out)
}

func (h *nodeHarness) userAuth(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SocketID string `json:"socket_id"`
		User     string `json:"user"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	userData := fmt.Sprintf(`{"id":%q,"name":%q}`, req.User, req.User)
	json.NewEncoder(w).Encode(map[string]string{
		"auth":      signature.UserAuth(testKey, testSecret, req.SocketID, userData),
		"user_data": userData,
	})
}

// trigger publishes through pusher-http-go; private-encrypted channels are
// encrypted by it with the master key. batch, when given, goes in one
// TriggerBatch.
func (h *nodeHarness) trigger(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Channel  string `json:"channel"`
		User     string `json:"user"`
		Event    string `json:"event"`
		Data     string `json:"data"`
		SocketID string `json:"socket_id"`
		Batch    []struct {
			Channel string `json:"channel"`
			Event   string `json:"event"`
			Data    string `json:"data"`
		} `json:"batch"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	var err error
	switch {
	case len(req.Batch) > 0:
		batch := make([]pusher.Event, len(req.Batch))
		for i, e := range req.Batch {
			batch[i] = pusher.Event{Channel: e.Channel, Name: e.Event, Data: e.Data}
		}
		_, err = h.pc.TriggerBatch(batch)
	case req.User != "":
		err = h.pc.SendToUser(req.User, req.Event, req.Data)
	case req.SocketID != "":
		err = h.pc.TriggerExclusive(req.Channel, req.Event, req.Data, req.SocketID)
	default:
		err = h.pc.Trigger(req.Channel, req.Event, req.Data)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Write([]byte("{}"))
}

// query asks with pusher-http-go's channel queries and answers what the
// SDK returned, or the SDK's error with status 502.
func (h *nodeHarness) query(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Op      string `json:"op"`
		Channel string `json:"channel"`
		Prefix  string `json:"prefix"`
		Info    string `json:"info"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	var out any
	var err error
	var info *string
	if req.Info != "" {
		info = &req.Info
	}
	switch req.Op {
	case "channels":
		var prefix *string
		if req.Prefix != "" {
			prefix = &req.Prefix
		}
		out, err = h.pc.Channels(pusher.ChannelsParams{FilterByPrefix: prefix, Info: info})
	case "channel":
		out, err = h.pc.Channel(req.Channel, pusher.ChannelParams{Info: info})
	case "users":
		out, err = h.pc.GetChannelUsers(req.Channel)
	default:
		http.Error(w, "unknown op "+req.Op, http.StatusBadRequest)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	json.NewEncoder(w).Encode(out)
}

// browserPage is a page for Chromium: pusher-js (with encryption) from
// /pusher.js, subscriptions authorized by this harness.
func (h *nodeHarness) browserPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><title>herald</title><script src="/pusher.js"></script>`)
}

func (h *nodeHarness) pusherJS(w http.ResponseWriter, r *http.Request) {
	http.ServeFile(w, r, filepath.Join(testkit.NodeModules(h.t), "pusher-js", "dist", "web", "pusher-with-encryption.min.js"))
}

// ablyPublish publishes through ably-go: one message, or a batch through
// POST /messages when channels is given.
func (h *nodeHarness) ablyPublish(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Channel  string   `json:"channel"`
		Channels []string `json:"channels"`
		Name     string   `json:"name"`
		Data     string   `json:"data"`
		ID       string   `json:"id"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	var err error
	if len(req.Channels) > 0 {
		var resp *ably.HTTPPaginatedResponse
		resp, err = h.ably.Request("POST", "/messages", ably.RequestWithBody(map[string]any{
			"channels": req.Channels,
			"messages": []map[string]string{{"name": req.Name, "data": req.Data, "id": req.ID}},
		})).Pages(ctx)
		if err == nil && !resp.Success() {
			err = fmt.Errorf("batch publish: status %d", resp.StatusCode())
		}
	} else {
		err = h.ably.Channels.Get(req.Channel).PublishMultiple(ctx, []*ably.Message{{ID: req.ID, Name: req.Name, Data: req.Data}})
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Write([]byte("{}"))
}

// runScript runs a script from testdata and checks it reported every step.
func (h *nodeHarness) runScript(t *testing.T, script string, steps ...string) {
	t.Helper()
	h.runScriptWith(t, script, nil, steps...)
}

// runScriptWith is runScript with more environment variables.
func (h *nodeHarness) runScriptWith(t *testing.T, script string, env []string, steps ...string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	out := testkit.RunNode(t, 120*time.Second, append(h.env(), env...), path)
	done := map[string]bool{}
	for _, l := range testkit.Lines(out) {
		if step, ok := strings.CutPrefix(l, "ok "); ok {
			done[step] = true
		}
	}
	for _, s := range steps {
		if !done[s] {
			t.Errorf("step %q not reported; output:\n%s", s, out)
		}
	}
	t.Logf("%s: %d steps passed", script, len(done))
}

// TestPusherJS runs pusher-js 8 under Node against the server.
func TestPusherJS(t *testing.T) {
	h := startNodeHarness(t)
	h.runScript(t, "pusherjs.js",
		"connect", "public", "private", "bad auth", "presence members", "member_added",
		"client event", "no echo", "socket_id exclusion", "encrypted", "signin", "user event",
		"member_removed", "disconnect")
	eventually(t, "connections to close", func() bool { return h.ts.Connections() == 0 })
}

// TestPusherNodeSDK drives the HTTP API with the npm pusher package.
func TestPusherNodeSDK(t *testing.T) {
	h := startNodeHarness(t)
	h.runScript(t, "pusher_sdk.js",
		"trigger", "trigger exclusive", "trigger batch", "channels", "channel", "users", "send to user",
		"terminate", "bad secret refused", "oversize refused")
}

// TestAblyToPusherJS publishes with ably-go and receives with pusher-js
// connected with the Ably key's name, as through Ably's Pusher adapter.
func TestAblyToPusherJS(t *testing.T) {
	h := startNodeHarness(t)
	h.runScript(t, "ably.js", "connect", "public", "private", "batch", "dedup")
}
