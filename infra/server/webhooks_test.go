package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/heraldrt/herald/shared/signature"
)

// webhookSink records the webhooks it receives, after checking their
// signature as the WebhookFunction does; it answers the first fail
// requests 500.
type webhookSink struct {
	t    *testing.T
	ably bool
	fail int

	mu       sync.Mutex
	bodies   [][]byte
	attempts int
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ok bool
	if s.ably {
		ok = r.Header.Get("X-Ably-Key") == ablyKey.Name && r.Header.Get("X-Ably-Signature") == signature.AblyWebhook(ablyKey.Secret, body)
	} else {
		ok = r.Header.Get("X-Pusher-Key") == testKey && r.Header.Get("X-Pusher-Signature") == signature.Webhook(testSecret, body)
	}
	if !ok {
		s.t.Errorf("webhook with a bad signature: %v %s", r.Header, body)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.attempts <= s.fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	s.bodies = append(s.bodies, body)
}

// events lists the received events as "name channel user".
func (s *webhookSink) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.bodies {
		if s.ably {
			var w struct {
				Items []struct {
					Source, Name string
					Data         struct {
						ChannelID string `json:"channelId"`
						Presence  []struct {
							ClientID string `json:"clientId"`
							Action   int
						}
					}
				}
			}
			json.Unmarshal(b, &w)
			for _, it := range w.Items {
				if it.Source == "channel.lifecycle" {
					out = append(out, it.Name+" "+it.Data.ChannelID)
				}
				for _, p := range it.Data.Presence {
					out = append(out, it.Source+" "+it.Data.ChannelID+" "+p.ClientID+" "+string(rune('0'+p.Action)))
				}
			}
			continue
		}
		var w struct {
			TimeMS int64 `json:"time_ms"`
			Events []struct {
				Name     string `json:"name"`
				Channel  string `json:"channel"`
				UserID   string `json:"user_id"`
				Event    string `json:"event"`
				SocketID string `json:"socket_id"`
			} `json:"events"`
		}
		json.Unmarshal(b, &w)
		if w.TimeMS == 0 {
			out = append(out, "no time_ms")
		}
		for _, e := range w.Events {
			s := e.Name + " " + e.Channel
			if e.UserID != "" {
				s += " " + e.UserID
			}
			if e.Event != "" {
				s += " " + e.Event
			}
			out = append(out, s)
		}
	}
	return out
}

func equalLists(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPusherWebhooks(t *testing.T) {
	sink := &webhookSink{t: t, fail: 1} // the first request is retried
	hs := httptest.NewServer(sink)
	defer hs.Close()
	cfg := testConfig()
	cfg.WebhookURL = hs.URL
	ts := startServer(t, cfg)

	const ch = "presence-room"
	alice := dial(t, ts.wsURL(testKey))
	alice.subscribe(ch, `{"user_id":"alice"}`)
	bob := dial(t, ts.wsURL(testKey))
	bob.subscribe(ch, `{"user_id":"bob"}`)
	bob.send(map[string]any{"event": "client-typing", "channel": ch, "data": map[string]any{}})
	alice.expect("client-typing")
	bob.ws.Close(websocket.StatusNormalClosure, "")
	alice.expect("pusher_internal:member_removed") // Bob left before Alice leaves
	alice.ws.Close(websocket.StatusNormalClosure, "")

	want := []string{
		"channel_occupied " + ch,
		"member_added " + ch + " alice",
		"member_added " + ch + " bob",
		"client_event " + ch + " bob client-typing",
		"member_removed " + ch + " bob",
		"member_removed " + ch + " alice",
		"channel_vacated " + ch,
	}
	eventually(t, "every webhook", func() bool { return len(sink.events()) >= len(want) })
	if got := sink.events(); !equalLists(got, want) {
		t.Errorf("webhook events\n got %q\nwant %q", got, want)
	}
}

func TestAblyWebhooks(t *testing.T) {
	sink := &webhookSink{t: t, ably: true}
	hs := httptest.NewServer(sink)
	defer hs.Close()
	cfg := testConfig()
	cfg.Ably.WebhookURL = hs.URL
	ts := startServer(t, cfg)

	c := dial(t, ts.wsURL(ablyKey.Name))
	const ch = "presence-room"
	data := `{"user_id":"bob"}`
	c.send(map[string]any{"event": "pusher:subscribe", "data": subscribeData{Channel: ch, ChannelData: data,
		Auth: signature.ChannelAuth(ablyKey.Name, ablyKey.Secret, c.socketID, ch, data)}})
	c.expect("pusher_internal:subscription_succeeded")
	c.ws.Close(websocket.StatusNormalClosure, "")

	want := []string{
		"channel.opened presence:room",
		"channel.presence presence:room bob 2",
		"channel.presence presence:room bob 3",
		"channel.closed presence:room",
	}
	eventually(t, "every webhook", func() bool { return len(sink.events()) >= len(want) })
	if got := sink.events(); !equalLists(got, want) {
		t.Errorf("webhook items\n got %q\nwant %q", got, want)
	}
}

// Without a webhook URL nothing is sent (the Pusher apps' URL does not
// serve the Ably app).
func TestWebhooksOnlyWhereConfigured(t *testing.T) {
	sink := &webhookSink{t: t}
	hs := httptest.NewServer(sink)
	defer hs.Close()
	cfg := testConfig()
	cfg.WebhookURL = hs.URL
	ts := startServer(t, cfg)
	c := dial(t, ts.wsURL(ablyKey.Name))
	c.send(map[string]any{"event": "pusher:subscribe", "data": subscribeData{Channel: "news"}})
	c.expect("pusher_internal:subscription_succeeded")
	p := dial(t, ts.wsURL(testKey))
	p.subscribe("news", "")
	eventually(t, "the Pusher app's webhook", func() bool { return len(sink.events()) >= 1 })
	if got := sink.events(); !equalLists(got, []string{"channel_occupied news"}) {
		t.Errorf("webhooks %q: the Ably app's channel reached the Pusher apps' URL", got)
	}
}
