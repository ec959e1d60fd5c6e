package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

func pusherClient(ts *testServer) *pusher.Client {
	return &pusher.Client{AppID: testAppID, Key: testKey, Secret: testSecret, Host: ts.addr, Secure: false}
}

func ptr[T any](v T) *T { return &v }

// TestPusherHTTPGo drives the HTTP API with pusher-http-go, the SDK
// herald's pusher driver uses, and checks what subscribers receive.
func TestPusherHTTPGo(t *testing.T) {
	ts := startServer(t, testConfig())
	pc := pusherClient(ts)
	a := dial(t, ts.wsURL(testKey))
	b := dial(t, ts.wsURL(testKey))
	for _, c := range []*wsClient{a, b} {
		c.subscribe("orders", "")
		c.subscribe("invoices", "")
	}
	a.subscribe("presence-room", `{"user_id":"alice"}`)
	b.subscribe("presence-room", `{"user_id":"bob"}`)
	a.expect("pusher_internal:member_added")

	t.Run("trigger", func(t *testing.T) {
		if err := pc.Trigger("orders", "created", map[string]any{"id": 7}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*wsClient{a, b} {
			if f := c.expect("created"); f.Channel != "orders" || f.str() != `{"id":7}` {
				t.Fatalf("got %+v", f)
			}
		}
	})
	t.Run("trigger multi with info", func(t *testing.T) {
		res, err := pc.TriggerMultiWithParams([]string{"orders", "presence-room"}, "both", "x", pusher.TriggerParams{Info: ptr("subscription_count")})
		if err != nil {
			t.Fatal(err)
		}
		if n := res.Channels["orders"].SubscriptionCount; n == nil || *n != 2 {
			t.Fatalf("subscription_count %v", res.Channels)
		}
		for _, c := range []*wsClient{a, b} {
			got := map[string]bool{}
			for len(got) < 2 {
				f := c.expect("both")
				got[f.Channel] = true
			}
		}
	})
	t.Run("trigger exclusive", func(t *testing.T) {
		if err := pc.TriggerExclusive("orders", "not-for-a", "1", a.socketID); err != nil {
			t.Fatal(err)
		}
		if err := pc.Trigger("orders", "for-all", "2"); err != nil {
			t.Fatal(err)
		}
		if f := a.next(); f.Event != "for-all" {
			t.Fatalf("excluded socket got %s", f.Event)
		}
		b.expect("not-for-a")
		b.expect("for-all")
	})
	t.Run("trigger batch", func(t *testing.T) {
		res, err := pc.TriggerBatch([]pusher.Event{
			{Channel: "orders", Name: "b1", Data: "one"},
			{Channel: "presence-room", Name: "b2", Data: "two", Info: ptr("user_count")},
			{Channel: "invoices", Name: "b3", Data: "three", SocketID: ptr(b.socketID)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batch) != 3 || res.Batch[1].UserCount == nil || *res.Batch[1].UserCount != 2 {
			t.Fatalf("batch answer %+v", res)
		}
		for _, ev := range []string{"b1", "b2", "b3"} {
			a.expect(ev)
		}
		b.expect("b1")
		b.expect("b2")
		b.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
		if f := b.next(); f.Event != "pusher:pong" {
			t.Fatalf("excluded socket got %s", f.Event)
		}
	})
	t.Run("batch over the limit", func(t *testing.T) {
		var evs []pusher.Event
		for i := range protocol.MaxBatchEvents + 1 {
			evs = append(evs, pusher.Event{Channel: "orders", Name: "e", Data: fmt.Sprint(i)})
		}
		if _, err := pc.TriggerBatch(evs); err == nil || !strings.Contains(err.Error(), "400") {
			t.Fatalf("err %v, want status 400", err)
		}
	})
	t.Run("data over 10 KB", func(t *testing.T) {
		big := *pc
		big.OverrideMaxMessagePayloadKB = 20 // let the server, not the SDK, refuse
		if err := big.Trigger("orders", "big", strings.Repeat("x", 10*1024+1)); err == nil || !strings.Contains(err.Error(), "413") {
			t.Fatalf("err %v, want status 413", err)
		}
		if err := big.Trigger("orders", "fits", strings.Repeat("x", 10*1024-2)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		bad := *pc
		bad.Secret = "not-the-secret"
		if err := bad.Trigger("orders", "forged", "x"); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err %v, want status 401", err)
		}
		if _, err := bad.Channels(pusher.ChannelsParams{}); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err %v, want status 401", err)
		}
	})
	t.Run("channels", func(t *testing.T) {
		all, err := pc.Channels(pusher.ChannelsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Channels) != 3 {
			t.Fatalf("channels %+v", all.Channels)
		}
		pres, err := pc.Channels(pusher.ChannelsParams{FilterByPrefix: ptr("presence-"), Info: ptr("user_count")})
		if err != nil {
			t.Fatal(err)
		}
		if len(pres.Channels) != 1 || pres.Channels["presence-room"].UserCount != 2 {
			t.Fatalf("presence channels %+v", pres.Channels)
		}
		if _, err := pc.Channels(pusher.ChannelsParams{FilterByPrefix: ptr("private-"), Info: ptr("user_count")}); err == nil {
			t.Fatal("user_count accepted for a non-presence prefix")
		}
	})
	t.Run("channel", func(t *testing.T) {
		ch, err := pc.Channel("presence-room", pusher.ChannelParams{Info: ptr("user_count,subscription_count")})
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Occupied || ch.UserCount != 2 || ch.SubscriptionCount != 2 {
			t.Fatalf("channel %+v", ch)
		}
		empty, err := pc.Channel("nobody-here", pusher.ChannelParams{})
		if err != nil || empty.Occupied {
			t.Fatalf("empty channel %+v %v", empty, err)
		}
	})
	t.Run("users", func(t *testing.T) {
		users, err := pc.GetChannelUsers("presence-room")
		if err != nil {
			t.Fatal(err)
		}
		if len(users.List) != 2 || users.List[0].ID != "alice" || users.List[1].ID != "bob" {
			t.Fatalf("users %+v", users.List)
		}
		if _, err := pc.GetChannelUsers("orders"); err == nil {
			t.Fatal("users listed for a public channel")
		}
	})
	t.Run("send to user", func(t *testing.T) {
		ud := `{"id":"alice"}`
		a.send(map[string]any{"event": "pusher:signin", "data": map[string]string{"auth": signature.UserAuth(testKey, testSecret, a.socketID, ud), "user_data": ud}})
		a.expect("pusher:signin_success")
		a.subscribe("#server-to-user-alice", "")
		if err := pc.SendToUser("alice", "dm", "hello"); err != nil {
			t.Fatal(err)
		}
		if f := a.expect("dm"); f.str() != "hello" {
			t.Fatalf("got %+v", f)
		}
	})
}

// TestHTTPRefusals sends raw requests signed (or mis-signed) with
// shared/signature, for what no SDK would send.
func TestHTTPRefusals(t *testing.T) {
	ts := startServer(t, testConfig())
	now := time.Now()
	path := "/apps/" + testAppID + "/events"
	body := []byte(`{"name":"e","channels":["orders"],"data":"{}"}`)
	manyChannels := make([]string, protocol.MaxChannelsPerTrigger+1)
	for i := range manyChannels {
		manyChannels[i] = fmt.Sprintf("c%d", i)
	}
	tooMany, _ := json.Marshal(map[string]any{"name": "e", "channels": manyChannels, "data": "x"})
	bigData, _ := json.Marshal(map[string]any{"name": "e", "channel": "orders", "data": strings.Repeat("x", DefaultMaxEventBytes+1)})
	var elevenEvents []map[string]string
	for range protocol.MaxBatchEvents + 1 {
		elevenEvents = append(elevenEvents, map[string]string{"name": "e", "channel": "orders", "data": "x"})
	}
	batch11, _ := json.Marshal(map[string]any{"batch": elevenEvents})

	cases := []struct {
		name   string
		method string
		url    string
		body   []byte
		status int
	}{
		{"valid", "POST", ts.signedURL("POST", path, nil, body, testKey, testSecret, now), body, 200},
		{"tampered signature", "POST", strings.Replace(ts.signedURL("POST", path, nil, body, testKey, testSecret, now), "auth_signature=", "auth_signature=0", 1), body, 401},
		{"tampered body", "POST", ts.signedURL("POST", path, nil, body, testKey, testSecret, now), []byte(`{"name":"f","channels":["orders"],"data":"{}"}`), 401},
		{"wrong secret", "POST", ts.signedURL("POST", path, nil, body, testKey, "not-the-secret", now), body, 401},
		{"other key", "POST", ts.signedURL("POST", path, nil, body, "somebody-else", testSecret, now), body, 401},
		{"stale timestamp", "POST", ts.signedURL("POST", path, nil, body, testKey, testSecret, now.Add(-601*time.Second)), body, 401},
		{"future timestamp", "POST", ts.signedURL("POST", path, nil, body, testKey, testSecret, now.Add(601*time.Second)), body, 401},
		{"unsigned", "POST", "http://" + ts.addr + path, body, 401},
		{"unknown app", "POST", ts.signedURL("POST", "/apps/999/events", nil, body, testKey, testSecret, now), body, 404},
		{"data over 10 KB", "POST", ts.signedURL("POST", path, nil, bigData, testKey, testSecret, now), bigData, 413},
		{"101 channels", "POST", ts.signedURL("POST", path, nil, tooMany, testKey, testSecret, now), tooMany, 400},
		{"11 batch events", "POST", ts.signedURL("POST", "/apps/3/batch_events", nil, batch11, testKey, testSecret, now), batch11, 400},
		{"user_count on public", "GET", ts.signedURL("GET", "/apps/3/channels/orders", map[string]string{"info": "user_count"}, nil, testKey, testSecret, now), nil, 400},
		{"users of public", "GET", ts.signedURL("GET", "/apps/3/channels/orders/users", nil, nil, testKey, testSecret, now), nil, 400},
		{"invalid channel", "GET", ts.signedURL("GET", "/apps/3/channels/a:b", nil, nil, testKey, testSecret, now), nil, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			status, resp := httpDo(t, req)
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, strings.TrimSpace(resp), tc.status)
			}
			if strings.Contains(resp, testSecret) {
				t.Fatal("response contains the secret")
			}
		})
	}
}

func TestTerminateUserConnections(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(testKey))
	other := dial(t, ts.wsURL(testKey))
	ud := `{"id":"bob"}`
	c.send(map[string]any{"event": "pusher:signin", "data": map[string]string{"auth": signature.UserAuth(testKey, testSecret, c.socketID, ud), "user_data": ud}})
	c.expect("pusher:signin_success")
	path := "/apps/3/users/bob/terminate_connections"
	body := []byte("{}")
	req, _ := http.NewRequest("POST", ts.signedURL("POST", path, nil, body, testKey, testSecret, time.Now()), bytes.NewReader(body))
	if status, resp := httpDo(t, req); status != 200 || strings.TrimSpace(resp) != "{}" {
		t.Fatalf("status %d %s", status, resp)
	}
	if got := c.closeStatus(); got != CodeUnauthorized {
		t.Fatalf("close %d", got)
	}
	eventually(t, "one connection left", func() bool { return ts.Connections() == 1 })
	other.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	other.expect("pusher:pong")
}
