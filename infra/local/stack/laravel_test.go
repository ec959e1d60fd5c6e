package stack

import (
	"context"
	"strings"
	"testing"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/heraldrt/herald/shared/protocol"
)

// TestLaravelConnections runs the stack as a Laravel app's .env configures
// it: Laravel 11's BROADCAST_CONNECTION=reverb with the REVERB_* variables
// of `php artisan install:broadcasting` (the embedded server playing
// Reverb), and Laravel 10's BROADCAST_DRIVER. An event published through
// the PublishFunction reaches a subscriber of the selected app, and a
// channel query is answered through the same driver.
func TestLaravelConnections(t *testing.T) {
	ablyKey, _ := protocol.ParseAblyKey(localAblyKey)
	for _, tc := range []struct {
		name        string
		vars        map[string]string
		key, secret string
	}{
		{"reverb", map[string]string{
			"BROADCAST_CONNECTION": "reverb",
			"REVERB_APP_ID":        "316154",
			"REVERB_APP_KEY":       "qdpfmxmjvpxbzxa1nqxd",
			"REVERB_APP_SECRET":    "reverb-secret-from-the-env",
		}, "qdpfmxmjvpxbzxa1nqxd", "reverb-secret-from-the-env"},
		{"BROADCAST_DRIVER=ably", map[string]string{"BROADCAST_DRIVER": "ably"}, ablyKey.Name, ablyKey.Secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := start(t, tc.vars)
			if c := st.pageConfig(); c.Key != tc.key || !st.env.Embedded(strings.TrimPrefix(st.URLs().Server, "http://")) {
				t.Fatalf("page connects with key %q (embedded %v), want %q on the embedded server", c.Key, st.env.Embedded(st.URLs().Server), tc.key)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const ch = "private-App.Models.User.42"
			ws := subscribeWith(t, ctx, st, tc.key, tc.secret, ch)
			client := pusher.Client{AppID: st.Env("PUBLISH_APP_ID"), Key: st.Env("PUBLISH_APP_KEY"), Secret: st.Env("PUBLISH_APP_SECRET"),
				Host: strings.TrimPrefix(st.URLs().HTTP, "http://")}
			if err := client.Trigger(ch, "EmailSent", map[string]string{"subject": tc.name}); err != nil {
				t.Fatalf("trigger through the PublishFunction: %v", err)
			}
			if f := readUntil(t, ctx, ws, "EmailSent"); !strings.Contains(f.Data, tc.name) {
				t.Fatalf("subscriber got %+v", f)
			}
			chans, err := client.Channels(pusher.ChannelsParams{})
			if err != nil {
				t.Fatalf("channel query through the PublishFunction: %v", err)
			}
			if _, ok := chans.Channels[ch]; !ok || len(chans.Channels) != 1 {
				t.Fatalf("channels = %v, want only %s", chans.Channels, ch)
			}
		})
	}
}
