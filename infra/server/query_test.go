package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// TestDriverQueries asks the server about channels through herald's own
// drivers: the pusher driver through the Pusher HTTP API, the ably driver
// through the Ably REST API (channel status, enumeration, presence), each
// mapped back into Pusher's terms.
func TestDriverQueries(t *testing.T) {
	for _, name := range []string{"pusher", "ably"} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, testConfig())
			host, portText, _ := strings.Cut(ts.addr, ":")
			port, _ := strconv.Atoi(portText)
			key, secret := testKey, testSecret
			var q broadcast.Querier
			var err error
			if name == "pusher" {
				q, err = broadcast.NewPusher(broadcast.PusherConfig{AppID: testAppID, Key: testKey, Secret: testSecret, Host: host, Port: port, Scheme: "http"})
			} else {
				key, secret = ablyKey.Name, ablyKey.Secret
				q, err = broadcast.NewAbly(broadcast.AblyConfig{Key: testAblyKey, Host: host, Port: port, Scheme: "http"})
			}
			if err != nil {
				t.Fatal(err)
			}
			subscribe := func(c *wsClient, ch, user string) {
				t.Helper()
				data := ""
				if user != "" {
					data = fmt.Sprintf(`{"user_id":%q,"user_info":{"name":%q}}`, user, user)
				}
				d := subscribeData{Channel: ch, ChannelData: data}
				if protocol.KindOf(ch).NeedsAuth() {
					d.Auth = signature.ChannelAuth(key, secret, c.socketID, ch, data)
				}
				c.send(map[string]any{"event": "pusher:subscribe", "data": d})
				if f := c.answer(ch); f.Event != "pusher_internal:subscription_succeeded" {
					t.Fatalf("subscribe %s: %s %s", ch, f.Event, f.Data)
				}
			}
			alice, bob := dial(t, ts.wsURL(key)), dial(t, ts.wsURL(key))
			subscribe(alice, "presence-lobby", "alice")
			subscribe(bob, "presence-lobby", "bob")
			subscribe(alice, "news", "")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			one := func(n int) *int { return &n }

			all, err := q.Channels(ctx, "", protocol.Info{})
			if err != nil || len(all) != 2 || !hasKeys(all, "news", "presence-lobby") {
				t.Fatalf("Channels() = %v, %v; want news and presence-lobby", all, err)
			}
			presence, err := q.Channels(ctx, "presence-", protocol.Info{UserCount: true})
			if err != nil || len(presence) != 1 || presence["presence-lobby"].UserCount == nil || *presence["presence-lobby"].UserCount != 2 {
				t.Fatalf("Channels(presence-, user_count) = %v, %v", presence, err)
			}
			st, err := q.Channel(ctx, "presence-lobby", protocol.Info{UserCount: true, SubscriptionCount: true})
			if want := (broadcast.ChannelState{Occupied: true, Counts: broadcast.Counts{UserCount: one(2), SubscriptionCount: one(2)}}); err != nil || !sameState(st, want) {
				t.Fatalf("Channel(presence-lobby) = %+v, %v", st, err)
			}
			st, err = q.Channel(ctx, "private-nobody", protocol.Info{SubscriptionCount: true})
			if err != nil || st.Occupied || st.SubscriptionCount == nil || *st.SubscriptionCount != 0 {
				t.Fatalf("Channel(private-nobody) = %+v, %v; want unoccupied with 0 subscriptions", st, err)
			}
			users, err := q.Users(ctx, "presence-lobby")
			slices.Sort(users)
			if err != nil || fmt.Sprint(users) != "[alice bob]" {
				t.Fatalf("Users = %v, %v", users, err)
			}

			var be *broadcast.Error
			if name == "ably" {
				err := q.TerminateUser(ctx, "alice")
				if !errors.As(err, &be) || be.StatusCode != http.StatusNotImplemented || !strings.Contains(err.Error(), "BROADCAST_CONNECTION=ably") {
					t.Fatalf("TerminateUser on Ably: %v, want 501 naming the limit", err)
				}
				_, err = q.Channel(ctx, "private-encrypted-x", protocol.Info{})
				if !errors.As(err, &be) || be.StatusCode != http.StatusBadRequest {
					t.Fatalf("Channel(private-encrypted-x) on Ably: %v, want 400", err)
				}
				return
			}
			userData := `{"id":"alice"}`
			alice.send(map[string]any{"event": "pusher:signin", "data": map[string]string{
				"auth": signature.UserAuth(key, secret, alice.socketID, userData), "user_data": userData,
			}})
			alice.expect("pusher:signin_success")
			if err := q.TerminateUser(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
			if code := alice.closeStatus(); code != websocket.StatusCode(CodeUnauthorized) {
				t.Fatalf("alice's connection closed with %d, want %d", code, CodeUnauthorized)
			}
			bad, _ := broadcast.NewPusher(broadcast.PusherConfig{AppID: testAppID, Key: testKey, Secret: "wrong", Host: host, Port: port, Scheme: "http"})
			if _, err := bad.Channels(ctx, "", protocol.Info{}); !errors.As(err, &be) || be.StatusCode != http.StatusUnauthorized {
				t.Fatalf("query with a wrong secret: %v, want 401", err)
			}
		})
	}
}

func hasKeys[V any](m map[string]V, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

func sameState(a, b broadcast.ChannelState) bool {
	eq := func(x, y *int) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Occupied == b.Occupied && eq(a.UserCount, b.UserCount) && eq(a.SubscriptionCount, b.SubscriptionCount)
}

// An event nobody hears is logged; when the name lacks the private- prefix
// its subscribers use, the log names that channel.
func TestUnheardEventLogged(t *testing.T) {
	var logs testkit.SyncBuffer
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ts := startServer(t, cfg)
	c := dial(t, ts.wsURL(testKey))
	c.subscribe("private-App.Models.User.42", "")
	if err := ts.Trigger(testAppID, []string{"App.Models.User.42"}, "EmailSent", "{}", ""); err != nil {
		t.Fatal(err)
	}
	if err := ts.Trigger(testAppID, []string{"private-App.Models.User.42"}, "EmailRead", "{}", ""); err != nil {
		t.Fatal(err)
	}
	c.expect("EmailRead")
	out := logs.String()
	if !strings.Contains(out, `msg="event reached no subscriber" app=3 channel=App.Models.User.42 event=EmailSent hint="private-App.Models.User.42 has 1 subscriber(s)`) {
		t.Fatalf("log:\n%s\nwant the unheard event with a hint naming private-App.Models.User.42", out)
	}
	if strings.Contains(out, "EmailRead") {
		t.Fatalf("a delivered event was logged as unheard:\n%s", out)
	}
}
