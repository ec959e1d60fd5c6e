package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// Pusher's published example credentials, usable in tests.
const (
	testAppID  = "3"
	testKey    = "278d425bdf160c739803"
	testSecret = "7ad3773142a6692b25b8"
	// testAblyKey is a made-up Ably key in the real format.
	testAblyKey = "appAbc.keyXyz:s3cr3t-for-tests"
)

func testConfig() Config {
	cfg := Config{
		Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}},
		Ably: &AblyConfig{Key: testAblyKey},
	}
	if os.Getenv("HERALD_SERVER_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

// testServer is a server serving on a loopback port for one test.
type testServer struct {
	*Server
	addr string // host:port
}

func (ts *testServer) wsURL(key string) string {
	return "ws://" + ts.addr + "/app/" + key + "?protocol=7&client=go&version=test"
}

func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := testkit.Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Serve did not return after shutdown")
		}
	})
	return &testServer{Server: s, addr: l.Addr().String()}
}

// wsClient is a raw protocol client, for what pusher-js will not send.
type wsClient struct {
	t        testing.TB
	ws       *websocket.Conn
	socketID string
}

type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
}

// str returns the frame's data as the string it carries, or its raw JSON.
func (f frame) str() string {
	var s string
	if json.Unmarshal(f.Data, &s) == nil {
		return s
	}
	return string(f.Data)
}

// dial connects and waits for connection_established.
func dial(t testing.TB, url string) *wsClient {
	t.Helper()
	c := dialRaw(t, url)
	f := c.next()
	if f.Event != "pusher:connection_established" {
		t.Fatalf("first frame %+v, want connection_established", f)
	}
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(f.str()), &d); err != nil || !protocol.ValidSocketID(d.SocketID) || d.ActivityTimeout <= 0 {
		t.Fatalf("connection_established data %s: %v", f.Data, err)
	}
	c.socketID = d.SocketID
	return c
}

func dialRaw(t testing.TB, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &wsClient{t: t, ws: ws}
}

// next reads the next frame, failing the test after a generous wait.
func (c *wsClient) next() frame {
	c.t.Helper()
	f, err := c.read(20 * time.Second)
	if err != nil {
		c.t.Fatalf("reading frame: %v", err)
	}
	return f
}

func (c *wsClient) read(wait time.Duration) (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("frame %s: %w", b, err)
	}
	return f, nil
}

// expect reads frames until one named event arrives, failing on any other
// pusher:error or subscription error first.
func (c *wsClient) expect(event string) frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.Event == event {
			return f
		}
		if f.Event == "pusher:error" || f.Event == "pusher:subscription_error" {
			c.t.Fatalf("got %s %s while waiting for %s", f.Event, f.Data, event)
		}
	}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *wsClient) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

type subscribeData struct {
	Channel     string `json:"channel"`
	Auth        string `json:"auth,omitempty"`
	ChannelData string `json:"channel_data,omitempty"`
}

// subscribe sends a subscription signed with the test secret (for channels
// that need it) and returns the server's answer.
func (c *wsClient) subscribe(ch, channelData string) frame {
	c.t.Helper()
	d := subscribeData{Channel: ch, ChannelData: channelData}
	if strings.HasPrefix(ch, "private-") || strings.HasPrefix(ch, "presence-") {
		d.Auth = signature.ChannelAuth(testKey, testSecret, c.socketID, ch, channelData)
	}
	c.send(map[string]any{"event": "pusher:subscribe", "data": d})
	return c.answer(ch)
}

// answer reads until the subscription answer for ch.
func (c *wsClient) answer(ch string) frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.Channel == ch && (f.Event == "pusher_internal:subscription_succeeded" || f.Event == "pusher:subscription_error") {
			return f
		}
	}
}

// closeStatus reads until the connection closes and returns its status.
func (c *wsClient) closeStatus() websocket.StatusCode {
	c.t.Helper()
	for {
		_, err := c.read(30 * time.Second)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			c.t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

// signedURL returns a signed HTTP API URL.
func (ts *testServer) signedURL(method, path string, query map[string]string, body []byte, key, secret string, now time.Time) string {
	q := map[string][]string{}
	for k, v := range query {
		q[k] = []string{v}
	}
	signed := signature.SignRequest(method, path, q, body, key, secret, now)
	return "http://" + ts.addr + path + "?" + signed.Encode()
}

// eventually polls cond until it holds or a generous deadline passes; for
// state the server changes after answering (a closed connection leaving
// its channels).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func httpDo(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func newListener(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func hmacHex(secret, msg string) string { return signature.HMAC(secret, msg) }
