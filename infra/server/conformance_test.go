package server

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/heraldrt/herald/functions/publish"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
)

// The PublishFunction's own credentials, deliberately not the server's:
// SDKs sign with these, the driver with the provider's.
const (
	publishAppID  = "herald"
	publishKey    = "herald-publish-key"
	publishSecret = "herald-publish-secret"
)

// TestPublishConformance runs the Pusher server SDKs (the npm pusher
// package and pusher-http-go) against the PublishFunction in direct mode,
// once per driver: the pusher driver publishing to this server's Pusher
// HTTP API, the ably driver to its Ably REST side. Each call (trigger,
// triggerBatch, the three channel queries, sendToUser, terminate
// connections, an encrypted trigger) is checked against what pusher-js
// subscribers see, under Node and, for the encrypted channel, in Chromium.
// On Ably, what the adapter cannot carry is checked to be refused with
// the reason.
func TestPublishConformance(t *testing.T) {
	chromium := testkit.Chromium(t)
	steps := map[string][]string{
		"pusher": {"trigger", "trigger go", "trigger batch", "trigger batch go", "channels", "channels go", "channel", "channel go",
			"users", "users go", "send to user", "send to user go", "encrypted", "encrypted go", "encrypted in chromium", "terminate",
			"bad signature", "unknown app", "unknown route"},
		"ably": {"trigger", "trigger go", "trigger batch", "trigger batch go", "channels", "channels go", "channel", "channel go",
			"users", "users go", "send to user refused", "encrypted refused", "terminate refused",
			"bad signature", "unknown app", "unknown route"},
	}
	for _, driver := range []string{"pusher", "ably"} {
		t.Run(driver, func(t *testing.T) {
			h := startNodeHarness(t)
			host, portText, _ := strings.Cut(h.ts.addr, ":")
			port, _ := strconv.Atoi(portText)
			var d broadcast.Driver
			var err error
			if driver == "pusher" {
				d, err = broadcast.NewPusher(broadcast.PusherConfig{AppID: testAppID, Key: testKey, Secret: testSecret, Host: host, Port: port, Scheme: "http"})
			} else {
				d, err = broadcast.NewAbly(broadcast.AblyConfig{Key: testAblyKey, Host: host, Port: port, Scheme: "http"})
			}
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			if os.Getenv("HERALD_SERVER_LOG") != "" {
				log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			fn, err := publish.FromEnv(t.Context(), config.Map(map[string]string{
				"PUBLISH_APP_ID": publishAppID, "PUBLISH_APP_KEY": publishKey, "PUBLISH_APP_SECRET": publishSecret, "PUBLISH_MODE": publish.ModeDirect,
			}), publish.Deps{Driver: d, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			l := testkit.Listen(t)
			srv := &http.Server{Handler: fn}
			go srv.Serve(l)
			t.Cleanup(func() { srv.Close() })

			// pusher-http-go as an app configures it: herald's host and
			// publish credentials, and the app's master key.
			masterKey := base64.StdEncoding.EncodeToString(testMasterKey)
			h.pc = &pusher.Client{AppID: publishAppID, Key: publishKey, Secret: publishSecret, Host: l.Addr().String(), EncryptionMasterKeyBase64: masterKey}
			publishHost, publishPort, _ := strings.Cut(l.Addr().String(), ":")
			h.runScriptWith(t, "publish_conformance.js", []string{
				"DRIVER=" + driver, "CHROMIUM=" + chromium, "MASTER_KEY_BASE64=" + masterKey,
				"PUBLISH_HOST=" + publishHost, "PUBLISH_PORT=" + publishPort,
				"PUBLISH_APP_ID=" + publishAppID, "PUBLISH_KEY=" + publishKey, "PUBLISH_SECRET=" + publishSecret,
			}, steps[driver]...)
		})
	}
}
