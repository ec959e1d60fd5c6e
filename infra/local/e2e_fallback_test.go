package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
)

type fallbackResult struct {
	DeliveredOnline string   `json:"delivered_online"`
	Status          string   `json:"status"`
	Explain         string   `json:"explain"`
	Fallback        []string `json:"fallback"`
	AliceInbox      []string `json:"alice_inbox"`
	Screenshot      string   `json:"screenshot"`
}

// TestFallbackInBrowser is presence-aware delivery end to end in headless
// Chromium, once per driver: the embedded server's webhooks (Pusher's, or
// Ably-shaped in ably mode) reach the local WebhookFunction and keep the
// presence table; an email with "unoccupied": "fallback" to a user whose
// tab is closed lands in the fallback queue, and the page says so.
func TestFallbackInBrowser(t *testing.T) {
	chromium := testkit.Chromium(t)
	for _, connection := range []string{"pusher", "ably"} {
		t.Run(connection, func(t *testing.T) {
			st := startStack(t, map[string]string{"BROADCAST_CONNECTION": connection})
			shot := filepath.Join(artifactDir(t), "demo-fallback-"+connection+".png")
			var r fallbackResult
			runBrowserScript(t, st, chromium, "e2e-fallback.js", shot, &r)
			if !strings.HasPrefix(r.Status, "Bob is offline: the email went to the fallback queue") {
				t.Errorf("send status %q", r.Status)
			}
			if len(r.Fallback) == 0 || !strings.Contains(r.Fallback[0], "BroadcastUndelivered") {
				t.Errorf("Fallback panel %q, want a BroadcastUndelivered first", r.Fallback)
			}
			if r.DeliveredOnline == "" || len(r.AliceInbox) == 0 {
				t.Errorf("online deliveries: Bob's %q, Alice's inbox %q", r.DeliveredOnline, r.AliceInbox)
			}
			if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
				t.Errorf("screenshot %s: %v", shot, err)
			}
			t.Logf("%s: %s; fallback panel %q; screenshot %s", connection, r.Status, r.Fallback, shot)
		})
	}
}
