package stack

import (
	"bytes"
	"strings"
	"testing"
)

func TestPageConfig(t *testing.T) {
	const server = "127.0.0.1:6001"
	for _, tc := range []struct {
		name     string
		vars     map[string]string
		key      string
		wsHost   string
		wsPort   int
		tls      bool
		embedded bool
	}{
		{"defaults", nil, localAppKey, "127.0.0.1", 6001, false, true},
		{"ably defaults", map[string]string{"BROADCAST_CONNECTION": "ably"}, "herald.local", "127.0.0.1", 6001, false, true},
		{"blank values keep defaults", map[string]string{"PUSHER_HOST": "", "PUSHER_APP_KEY": ""}, localAppKey, "127.0.0.1", 6001, false, true},
		{"hosted pusher", map[string]string{"PUSHER_APP_ID": "1", "PUSHER_APP_KEY": "k", "PUSHER_APP_SECRET": "s", "PUSHER_APP_CLUSTER": "eu"}, "k", "", 0, true, false},
		{"hosted ably", map[string]string{"BROADCAST_CONNECTION": "ably", "ABLY_KEY": "app.key:secret"}, "app.key", ablyPusherHost, 443, true, false},
		{"reverb defaults", map[string]string{"BROADCAST_CONNECTION": "reverb"}, localAppKey, "127.0.0.1", 6001, false, true},
		{"Laravel 10's BROADCAST_DRIVER", map[string]string{"BROADCAST_DRIVER": "ably"}, "herald.local", "127.0.0.1", 6001, false, true},
		{"own Reverb", map[string]string{"BROADCAST_CONNECTION": "reverb", "REVERB_APP_KEY": "k", "REVERB_HOST": "localhost", "REVERB_PORT": "8080", "REVERB_SCHEME": "http"}, "k", "localhost", 8080, false, false},
		{"own pusher-compatible server", map[string]string{"PUSHER_APP_KEY": "k", "PUSHER_HOST": "soketi.test", "PUSHER_PORT": "6002", "PUSHER_SCHEME": "https"}, "k", "soketi.test", 6002, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Stack{env: newEnv(func(k string) (string, bool) { v, ok := tc.vars[k]; return v, ok }, "", server, "http://127.0.0.1:4566", resources{})}
			c := s.pageConfig()
			if c.Key != tc.key || c.WSHost != tc.wsHost || c.WSPort != tc.wsPort || c.ForceTLS != tc.tls || c.Cluster == "" {
				t.Errorf("page config %+v; want key %q, wsHost %q, wsPort %d, forceTLS %t and a cluster", c, tc.key, tc.wsHost, tc.wsPort, tc.tls)
			}
			if got := s.env.Embedded(server); got != tc.embedded {
				t.Errorf("Embedded = %t, want %t", got, tc.embedded)
			}
		})
	}
}

// TestBannerSecrets: the banner prints the stack's own local secrets, which
// open nothing but a loopback server, and never a secret from the
// environment.
func TestBannerSecrets(t *testing.T) {
	st := start(t, map[string]string{"AUTH_JWT_SECRET": "a-real-secret-from-the-environment-0123456789"})
	var b bytes.Buffer
	st.printBanner(&b)
	out := b.String()
	if strings.Contains(out, "a-real-secret-from-the-environment") {
		t.Error("the banner prints a secret set in the environment")
	}
	for _, want := range []string{"AUTH_JWT_SECRET=(set in the environment)", "PUSHER_APP_SECRET=" + localAppSecret, "new Pusher(\"local-key\"", "broadcasting to the embedded server"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
}
