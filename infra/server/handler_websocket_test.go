package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldrt/herald/shared/signature"
)

func TestConnectPingPong(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(testKey))
	c.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	c.expect("pusher:pong")
	if n := ts.Connections(); n != 1 {
		t.Fatalf("Connections = %d, want 1", n)
	}
}

func TestConnectRefusals(t *testing.T) {
	ts := startServer(t, testConfig())
	cases := []struct {
		name string
		url  string
		code int
	}{
		{"unknown key", "ws://" + ts.addr + "/app/nosuchkey?protocol=7", CodeAppNotFound},
		{"no protocol", "ws://" + ts.addr + "/app/" + testKey, CodeNoProtocol},
		{"old protocol", "ws://" + ts.addr + "/app/" + testKey + "?protocol=4", CodeUnsupportedProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, tc.url)
			f := c.next()
			var d struct {
				Code *int `json:"code"`
			}
			if f.Event != "pusher:error" || json.Unmarshal(f.Data, &d) != nil || d.Code == nil || *d.Code != tc.code {
				t.Fatalf("got %s %s, want pusher:error with code %d", f.Event, f.Data, tc.code)
			}
			if got := c.closeStatus(); int(got) != tc.code {
				t.Fatalf("close status %d, want %d", got, tc.code)
			}
		})
	}
}

func TestSubscriptionAuth(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(testKey))
	cases := []struct {
		name, channel, auth, channelData string
		ok                               bool
	}{
		{"public", "news", "", "", true},
		{"private signed", "private-orders.1", signature.ChannelAuth(testKey, testSecret, c.socketID, "private-orders.1", ""), "", true},
		{"private unsigned", "private-orders.2", "", "", false},
		{"private wrong secret", "private-orders.3", signature.ChannelAuth(testKey, "wrong", c.socketID, "private-orders.3", ""), "", false},
		{"private signed for another socket", "private-orders.4", signature.ChannelAuth(testKey, testSecret, "1.2", "private-orders.4", ""), "", false},
		{"private signed for another channel", "private-orders.5", signature.ChannelAuth(testKey, testSecret, c.socketID, "private-orders.6", ""), "", false},
		{"encrypted signed", "private-encrypted-inbox", signature.ChannelAuth(testKey, testSecret, c.socketID, "private-encrypted-inbox", ""), "", true},
		{"encrypted unsigned", "private-encrypted-inbox2", testKey + ":00", "", false},
		{"presence signed", "presence-room", signature.ChannelAuth(testKey, testSecret, c.socketID, "presence-room", `{"user_id":"1"}`), `{"user_id":"1"}`, true},
		{"presence data tampered", "presence-room2", signature.ChannelAuth(testKey, testSecret, c.socketID, "presence-room2", `{"user_id":"1"}`), `{"user_id":"2"}`, false},
		{"user channel before signin", "#server-to-user-1", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.send(map[string]any{"event": "pusher:subscribe", "data": subscribeData{Channel: tc.channel, Auth: tc.auth, ChannelData: tc.channelData}})
			f := c.answer(tc.channel)
			if tc.ok != (f.Event == "pusher_internal:subscription_succeeded") {
				t.Fatalf("got %s %s", f.Event, f.Data)
			}
			if !tc.ok {
				var d subscriptionErrorData
				if err := json.Unmarshal(f.Data, &d); err != nil || d.Type != "AuthError" || d.Status != 401 {
					t.Fatalf("subscription_error data %s", f.Data)
				}
			}
		})
	}
	ch, _ := ts.Channel(testAppID, "private-orders.2")
	if ch.SubscriptionCount != 0 {
		t.Fatal("a refused subscription was counted")
	}
}

func TestInvalidChannelName(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(testKey))
	f := c.subscribe("bad channel", "")
	if f.Event != "pusher:subscription_error" {
		t.Fatalf("got %s", f.Event)
	}
}

func TestPresenceMembers(t *testing.T) {
	ts := startServer(t, testConfig())
	const ch = "presence-chat.1"
	alice := dial(t, ts.wsURL(testKey))
	f := alice.subscribe(ch, `{"user_id":"alice","user_info":{"name":"Alice"}}`)
	var p presenceData
	if err := json.Unmarshal([]byte(f.str()), &p); err != nil {
		t.Fatal(err)
	}
	if p.Presence.Count != 1 || p.Presence.IDs[0] != "alice" || string(p.Presence.Hash["alice"]) != `{"name":"Alice"}` {
		t.Fatalf("presence %+v", p)
	}

	bob := dial(t, ts.wsURL(testKey))
	f = bob.subscribe(ch, `{"user_id":"bob","user_info":{"name":"Bob"}}`)
	if err := json.Unmarshal([]byte(f.str()), &p); err != nil {
		t.Fatal(err)
	}
	if p.Presence.Count != 2 || strings.Join(p.Presence.IDs, ",") != "alice,bob" {
		t.Fatalf("presence %+v", p)
	}
	f = alice.expect("pusher_internal:member_added")
	if f.str() != `{"user_id":"bob","user_info":{"name":"Bob"}}` {
		t.Fatalf("member_added %s", f.str())
	}

	// Bob's second tab is the same member: no member_added, and closing one
	// tab removes nobody.
	bob2 := dial(t, ts.wsURL(testKey))
	f = bob2.subscribe(ch, `{"user_id":"bob","user_info":{"name":"Bob"}}`)
	if err := json.Unmarshal([]byte(f.str()), &p); err != nil || p.Presence.Count != 2 {
		t.Fatalf("second tab sees %s", f.str())
	}
	info, _ := ts.Channel(testAppID, ch)
	if info.UserCount != 2 || info.SubscriptionCount != 3 {
		t.Fatalf("channel info %+v", info)
	}
	bob2.ws.Close(websocket.StatusNormalClosure, "")
	eventually(t, "second tab to leave", func() bool { i, _ := ts.Channel(testAppID, ch); return i.SubscriptionCount == 2 })
	bob.ws.Close(websocket.StatusNormalClosure, "")
	// The first frame Alice sees after Bob's first tab left is Bob's
	// removal after his last tab left: nothing in between.
	f = alice.next()
	if f.Event != "pusher_internal:member_removed" || f.str() != `{"user_id":"bob"}` {
		t.Fatalf("got %s %s, want member_removed for bob", f.Event, f.str())
	}

	// Numeric user ids are their decimal text.
	carol := dial(t, ts.wsURL(testKey))
	carol.subscribe(ch, `{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`)
	f = alice.expect("pusher_internal:member_added")
	if !strings.Contains(f.str(), `"user_id":"10"`) {
		t.Fatalf("member_added %s", f.str())
	}
}

func TestPresenceLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPresenceMembers = 2
	ts := startServer(t, cfg)
	const ch = "presence-full"
	for i := range 2 {
		c := dial(t, ts.wsURL(testKey))
		if f := c.subscribe(ch, fmt.Sprintf(`{"user_id":"u%d"}`, i)); f.Event != "pusher_internal:subscription_succeeded" {
			t.Fatalf("member %d: %s %s", i, f.Event, f.Data)
		}
		if i == 1 {
			// Another connection of an existing member is still admitted.
			again := dial(t, ts.wsURL(testKey))
			if f := again.subscribe(ch, `{"user_id":"u1"}`); f.Event != "pusher_internal:subscription_succeeded" {
				t.Fatalf("existing member's second connection refused: %s", f.Data)
			}
		}
	}
	c := dial(t, ts.wsURL(testKey))
	f := c.subscribe(ch, `{"user_id":"u2"}`)
	var d subscriptionErrorData
	if f.Event != "pusher:subscription_error" || json.Unmarshal(f.Data, &d) != nil || d.Type != "LimitReached" {
		t.Fatalf("third member: %s %s", f.Event, f.Data)
	}
}

// errorCode reads a pusher:error frame's code (0 for null).
func errorCode(t testing.TB, f frame) int {
	t.Helper()
	if f.Event != "pusher:error" {
		t.Fatalf("got %s %s, want pusher:error", f.Event, f.Data)
	}
	var d struct {
		Code *int `json:"code"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Code == nil {
		return 0
	}
	return *d.Code
}

func TestClientEvents(t *testing.T) {
	ts := startServer(t, testConfig())
	a := dial(t, ts.wsURL(testKey))
	b := dial(t, ts.wsURL(testKey))
	for _, ch := range []string{"public-room", "private-room", "private-encrypted-room"} {
		a.subscribe(ch, "")
		b.subscribe(ch, "")
	}
	a.subscribe("presence-room", `{"user_id":"a"}`)
	b.subscribe("presence-room", `{"user_id":"b"}`)
	a.expect("pusher_internal:member_added")

	t.Run("delivered to the others, not echoed", func(t *testing.T) {
		a.send(map[string]any{"event": "client-typing", "channel": "private-room", "data": map[string]any{"who": "a"}})
		f := b.expect("client-typing")
		if f.Channel != "private-room" || string(f.Data) != `{"who":"a"}` {
			t.Fatalf("b got %+v", f)
		}
		// a's next frame answers its ping: no echo was queued before it.
		a.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
		if f := a.next(); f.Event != "pusher:pong" {
			t.Fatalf("sender got %s %s", f.Event, f.Data)
		}
	})
	t.Run("presence carries user_id", func(t *testing.T) {
		a.send(map[string]any{"event": "client-wave", "channel": "presence-room", "data": map[string]any{}})
		if f := b.expect("client-wave"); f.UserID != "a" {
			t.Fatalf("user_id %q, want a", f.UserID)
		}
	})
	for _, tc := range []struct{ name, channel string }{
		{"public channel", "public-room"},
		{"encrypted channel", "private-encrypted-room"},
		{"not subscribed", "private-elsewhere"},
	} {
		t.Run("refused on "+tc.name, func(t *testing.T) {
			a.send(map[string]any{"event": "client-x", "channel": tc.channel, "data": map[string]any{}})
			if code := errorCode(t, a.next()); code != 0 {
				t.Fatalf("code %d, want null", code)
			}
			// b got nothing: its next frame is the pong to its own ping.
			b.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
			if f := b.next(); f.Event != "pusher:pong" {
				t.Fatalf("b got %s %s", f.Event, f.Data)
			}
		})
	}
}

func TestClientEventRateLimit(t *testing.T) {
	ts := startServer(t, testConfig())
	a := dial(t, ts.wsURL(testKey))
	b := dial(t, ts.wsURL(testKey))
	a.subscribe("private-busy", "")
	b.subscribe("private-busy", "")
	// 100 events as fast as the client can write them; at 10 a second
	// allowed, most are refused unless writing them took nine seconds.
	const n = 100
	for i := range n {
		a.send(map[string]any{"event": "client-tick", "channel": "private-busy", "data": map[string]any{"i": i}})
	}
	a.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	limited := 0
	for {
		f := a.next()
		if f.Event == "pusher:pong" {
			break
		}
		if errorCode(t, f) != CodeClientEventRateLimit {
			t.Fatalf("unexpected error %s", f.Data)
		}
		limited++
	}
	if limited == 0 {
		t.Fatal("no client event was rate limited")
	}
	// The connection stays open and b got the rest.
	b.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	got := 0
	for f := b.next(); f.Event != "pusher:pong"; f = b.next() {
		got++
	}
	if got+limited != n {
		t.Fatalf("delivered %d + limited %d != %d", got, limited, n)
	}
	t.Logf("%d of %d client events rate limited", limited, n)
}

func TestSigninAndUserChannel(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(testKey))
	userData := `{"id":"42","name":"Alice"}`
	c.send(map[string]any{"event": "pusher:signin", "data": map[string]string{
		"auth": signature.UserAuth(testKey, testSecret, c.socketID, userData), "user_data": userData,
	}})
	f := c.expect("pusher:signin_success")
	var d struct {
		UserData string `json:"user_data"`
	}
	if json.Unmarshal(f.Data, &d) != nil || d.UserData != userData {
		t.Fatalf("signin_success %s", f.Data)
	}
	if f := c.subscribe("#server-to-user-43", ""); f.Event != "pusher:subscription_error" {
		t.Fatalf("subscribed to another user's channel: %s", f.Event)
	}
	if f := c.subscribe("#server-to-user-42", ""); f.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("own user channel: %s %s", f.Event, f.Data)
	}
	if err := ts.Trigger(testAppID, []string{"#server-to-user-42"}, "notice", `{"n":1}`, ""); err != nil {
		t.Fatal(err)
	}
	if f := c.expect("notice"); f.Channel != "#server-to-user-42" || f.str() != `{"n":1}` {
		t.Fatalf("got %+v", f)
	}
}

func TestSigninRefused(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(testKey))
	userData := `{"id":"42"}`
	c.send(map[string]any{"event": "pusher:signin", "data": map[string]string{
		"auth": signature.UserAuth(testKey, testSecret, c.socketID, `{"id":"1"}`), "user_data": userData,
	}})
	if code := errorCode(t, c.next()); code != CodeUnauthorized {
		t.Fatalf("code %d", code)
	}
	if got := c.closeStatus(); got != CodeUnauthorized {
		t.Fatalf("close %d", got)
	}
}

func TestSocketIDExclusion(t *testing.T) {
	ts := startServer(t, testConfig())
	a := dial(t, ts.wsURL(testKey))
	b := dial(t, ts.wsURL(testKey))
	a.subscribe("orders", "")
	b.subscribe("orders", "")
	if err := ts.Trigger(testAppID, []string{"orders"}, "first", "1", a.socketID); err != nil {
		t.Fatal(err)
	}
	if err := ts.Trigger(testAppID, []string{"orders"}, "second", "2", ""); err != nil {
		t.Fatal(err)
	}
	if f := a.next(); f.Event != "second" {
		t.Fatalf("excluded socket got %s first", f.Event)
	}
	if f := b.next(); f.Event != "first" {
		t.Fatalf("other socket got %s first", f.Event)
	}
}

func TestUnsubscribe(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(testKey))
	c.subscribe("orders", "")
	c.send(map[string]any{"event": "pusher:unsubscribe", "data": map[string]string{"channel": "orders"}})
	eventually(t, "unsubscribe", func() bool { i, _ := ts.Channel(testAppID, "orders"); return i.SubscriptionCount == 0 })
}

func TestIdleConnectionClosed(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ActivityTimeout = time.Second
	cfg.PongTimeout = time.Second
	ts := startServer(t, cfg)
	c := dial(t, ts.wsURL(testKey))
	if f := c.next(); f.Event != "pusher:ping" {
		t.Fatalf("got %s, want pusher:ping", f.Event)
	}
	// No pong: the server gives up.
	if got := c.closeStatus(); got != CodePongNotReceived {
		t.Fatalf("close %d, want %d", got, CodePongNotReceived)
	}
}

func TestPongKeepsConnection(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ActivityTimeout = time.Second
	// Generous: a busy machine may take a while to deliver the pong, and
	// the next ping comes after ActivityTimeout anyway.
	cfg.PongTimeout = 20 * time.Second
	ts := startServer(t, cfg)
	c := dial(t, ts.wsURL(testKey))
	for range 3 {
		if f := c.next(); f.Event != "pusher:ping" {
			t.Fatalf("got %s, want pusher:ping", f.Event)
		}
		c.send(map[string]any{"event": "pusher:pong", "data": map[string]any{}})
	}
	if ts.Connections() != 1 {
		t.Fatal("answered connection was closed")
	}
}

func TestSlowClientDisconnected(t *testing.T) {
	cfg := testConfig()
	cfg.SendQueue = 8
	ts := startServer(t, cfg)
	slow := dial(t, ts.wsURL(testKey))
	slow.subscribe("firehose", "")
	data := strings.Repeat("x", 10000)
	// The client never reads again: once the socket buffers fill, the
	// queue fills and the server lets the client go instead of waiting.
	for i := 0; ts.Connections() > 0; i++ {
		if i > 100000 {
			t.Fatal("slow client never disconnected")
		}
		ts.Trigger(testAppID, []string{"firehose"}, "big", data, "")
		if i%100 == 99 {
			time.Sleep(time.Millisecond)
		}
	}
}

func TestDrainClosesWith4200(t *testing.T) {
	s, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := newListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	c := dial(t, "ws://"+l.Addr().String()+"/app/"+testKey+"?protocol=7")
	cancel()
	if got := c.closeStatus(); got != CodeReconnect {
		t.Fatalf("close %d, want %d", got, CodeReconnect)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestFrameDecoding(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(testKey))
	for _, raw := range []string{`not json`, `{"data":{}}`, `[]`, `{"event":"pusher:subscribe","data":7}`} {
		c.sendRaw([]byte(raw))
		if f := c.next(); f.Event != "pusher:error" {
			t.Fatalf("%s: got %s", raw, f.Event)
		}
	}
	// Data as a JSON string, as some clients send it.
	c.send(map[string]any{"event": "pusher:subscribe", "data": `{"channel":"strings"}`})
	if f := c.answer("strings"); f.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("got %s", f.Event)
	}
}
