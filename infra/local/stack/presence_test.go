package stack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldrt/herald/shared/presence"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// subscribeAs joins channel on the embedded server with the given app
// credentials, as pusher-js would.
func subscribeAs(t *testing.T, ctx context.Context, st *Stack, key, secret, channel string) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(st.URLs().Server, "http") + "/app/" + key + "?protocol=7&client=go&version=1"
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	est := read(t, ctx, ws)
	var conn struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal([]byte(est.Data), &conn); err != nil || conn.SocketID == "" {
		t.Fatalf("connection_established: %+v", est)
	}
	msg, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{
		"channel": channel, "auth": signature.ChannelAuth(key, secret, conn.SocketID, channel, ""),
	}})
	if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatal(err)
	}
	if f := read(t, ctx, ws); f.Event != "pusher_internal:subscription_succeeded" {
		t.Fatalf("subscribing to %s: %+v", channel, f)
	}
	return ws
}

// The embedded server's webhooks reach the local WebhookFunction, signed
// as each provider signs them, and keep the presence table: a
// subscription makes its channel occupied, its end vacated.
func TestWebhooksKeepThePresenceTable(t *testing.T) {
	for _, connection := range []string{"pusher", "ably"} {
		t.Run(connection, func(t *testing.T) {
			st := start(t, map[string]string{"BROADCAST_CONNECTION": connection})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			table, err := presence.FromEnv(st.env.Lookup)
			if err != nil || table == nil {
				t.Fatalf("presence table: %v", err)
			}
			key, secret := st.Env("PUSHER_APP_KEY"), st.Env("PUSHER_APP_SECRET")
			if connection == "ably" {
				k, _ := protocol.ParseAblyKey(st.Env("ABLY_KEY"))
				key, secret = k.Name, k.Secret
			}
			const ch = UserChannelPrefix + "43"
			occupied := func() bool {
				occ, err := table.Occupied(ctx, []string{ch})
				if err != nil {
					t.Fatal(err)
				}
				return occ[ch]
			}
			if occupied() {
				t.Fatalf("%s occupied before anyone subscribed", ch)
			}
			ws := subscribeAs(t, ctx, st, key, secret, ch)
			waitFor(t, ch+" occupied", occupied)
			ws.Close(websocket.StatusNormalClosure, "")
			waitFor(t, ch+" vacated", func() bool { return !occupied() })
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
