package stack

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestHalfSetCredentials: a hosted key without its secret (or its app id)
// stops the stack with an error naming what is missing, and never shows a
// value.
func TestHalfSetCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"pusher key alone", map[string]string{"PUSHER_APP_KEY": "k-value"}, "PUSHER_APP_KEY set without PUSHER_APP_ID and PUSHER_APP_SECRET"},
		{"pusher secret missing", map[string]string{"PUSHER_APP_ID": "1", "PUSHER_APP_KEY": "k-value"}, "PUSHER_APP_ID and PUSHER_APP_KEY set without PUSHER_APP_SECRET"},
		{"reverb key alone", map[string]string{"BROADCAST_CONNECTION": "reverb", "REVERB_APP_KEY": "k-value", "REVERB_HOST": "localhost"}, "REVERB_APP_KEY set without REVERB_APP_ID and REVERB_APP_SECRET"},
		{"ably key without its secret", map[string]string{"BROADCAST_CONNECTION": "ably", "ABLY_KEY": "app.k-value"}, `ABLY_KEY must have the form appId.keyId:secret`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(func(k string) (string, bool) { v, ok := tc.vars[k]; return v, ok }, "", DefaultServerAddr, "http://127.0.0.1:4566", resources{})
			err := e.checkCredentials()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkCredentials: %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "k-value") {
				t.Errorf("the error shows a value: %v", err)
			}
		})
	}
	for _, vars := range []map[string]string{
		nil,
		{"PUSHER_APP_ID": "1", "PUSHER_APP_KEY": "k", "PUSHER_APP_SECRET": "s"},
		{"BROADCAST_CONNECTION": "ably", "ABLY_KEY": "app.key:secret"},
	} {
		e := newEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, "", DefaultServerAddr, "http://127.0.0.1:4566", resources{})
		if err := e.checkCredentials(); err != nil {
			t.Errorf("%v: %v", vars, err)
		}
	}

	// The stack itself refuses to start.
	st, err := New(Config{HTTPAddr: "127.0.0.1:0", ServerAddr: "127.0.0.1:0", AWS: testkit.Moto(t),
		Lookup: func(k string) (string, bool) {
			return map[string]string{"PUSHER_APP_KEY": "k"}[k], k == "PUSHER_APP_KEY"
		},
		Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		err = st.Run(t.Context())
	}
	if err == nil || !strings.Contains(err.Error(), "without PUSHER_APP_ID and PUSHER_APP_SECRET") {
		t.Errorf("the stack started: %v, want the missing credentials named", err)
	}
}
