package server

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	app := App{ID: "1", Key: "k", Secret: "s"}
	cases := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"one app", Config{Apps: []App{app}}, ""},
		{"ably only", Config{Ably: &AblyConfig{Key: "app.key:secret"}}, ""},
		{"nothing", Config{}, "no apps"},
		{"no secret", Config{Apps: []App{{ID: "1", Key: "k"}}}, "no secret"},
		{"duplicate id", Config{Apps: []App{app, {ID: "1", Key: "k2", Secret: "s"}}}, "appears twice"},
		{"duplicate key", Config{Apps: []App{app, {ID: "2", Key: "k", Secret: "s"}}}, "appears twice"},
		{"ably app clashes", Config{Apps: []App{{ID: "app", Key: "k", Secret: "s"}}, Ably: &AblyConfig{Key: "app.key:secret"}}, "appears twice"},
		{"key with slash", Config{Apps: []App{{ID: "1", Key: "a/b", Secret: "s"}}}, "character"},
		{"ably key without secret", Config{Ably: &AblyConfig{Key: "app.keyTOPSECRET"}}, "appId.keyId:secret"},
		{"ably key without key id", Config{Ably: &AblyConfig{Key: "app:TOPSECRET"}}, "appId.keyId"},
		{"app without key", Config{Apps: []App{{ID: "1", Secret: "TOPSECRET"}}}, "no key"},
		{"negative timeout", Config{Apps: []App{app}, PongTimeout: -time.Second}, "PongTimeout is negative"},
		{"sub-second activity", Config{Apps: []App{app}, ActivityTimeout: time.Millisecond}, "below one second"},
		{"negative queue", Config{Apps: []App{app}, SendQueue: -1}, "SendQueue is negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
			if strings.Contains(err.Error(), "TOPSECRET") {
				t.Fatalf("error reveals a secret: %v", err)
			}
		})
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New accepted an invalid config")
	}
}

func TestCloseReason(t *testing.T) {
	long := strings.Repeat("é", 100)
	got := closeReason(long)
	if len(got) > 123 || !strings.HasPrefix(long, got) {
		t.Fatalf("closeReason kept %d bytes", len(got))
	}
}
