package publish_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/functions/publish"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/signature"
)

// signedQuery builds a request for target (a path with its query) signed
// with the publish credentials, as an SDK signs it: GETs without a body or
// body_md5, POSTs with "{}".
func signedQuery(t *testing.T, method, target string) *http.Request {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	if method == http.MethodPost {
		body = []byte("{}")
	}
	q := signature.SignRequest(method, u.Path, u.Query(), body, key, secret, time.Now())
	return httptest.NewRequest(method, u.EscapedPath()+"?"+q.Encode(), bytes.NewReader(body))
}

// logged builds a handler like handler does, logging at debug level into
// the returned buffer.
func logged(t *testing.T, env map[string]string, deps publish.Deps) (*publish.Handler, *bytes.Buffer) {
	t.Helper()
	full := map[string]string{"PUBLISH_APP_ID": appID, "PUBLISH_APP_KEY": key, "PUBLISH_APP_SECRET": secret}
	for k, v := range env {
		full[k] = v
	}
	var buf bytes.Buffer
	deps.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := publish.FromEnv(t.Context(), config.Map(full), deps)
	if err != nil {
		t.Fatal(err)
	}
	return h, &buf
}

func TestQueryRefusals(t *testing.T) {
	h, logs := logged(t, map[string]string{"PUBLISH_MODE": "direct", "BROADCAST_CONNECTION": "null"}, publish.Deps{})
	for _, c := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"no provider", "GET", "/apps/3/channels", 501, "BROADCAST_CONNECTION=null has none"},
		{"user_count without a presence prefix", "GET", "/apps/3/channels?info=user_count", 400, "filter_by_prefix=presence-"},
		{"user_count on a private channel", "GET", "/apps/3/channels/private-x?info=user_count", 400, `not "private-x"`},
		{"unknown info", "GET", "/apps/3/channels/x?info=occupied", 400, `"occupied"`},
		{"invalid channel", "GET", "/apps/3/channels/a%20b", 400, "channel names may contain only"},
		{"users of a private channel", "GET", "/apps/3/channels/private-x/users", 400, "presence- channels"},
		{"terminate without a provider", "POST", "/apps/3/users/42/terminate_connections", 501, "BROADCAST_CONNECTION=null"},
		{"query of an unknown app", "GET", "/apps/4/channels", 404, "PUBLISH_APP_ID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := signedQuery(t, c.method, c.path)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.body) {
				t.Fatalf("%d %q, want %d containing %q", w.Code, w.Body.String(), c.status, c.body)
			}
		})
	}
	out := logs.String()
	if n := strings.Count(out, `msg="publish request refused"`); n != 8 {
		t.Fatalf("%d refusals logged, want 8:\n%s", n, out)
	}
	if strings.Contains(out, secret) {
		t.Fatal("the secret reached the log")
	}
}

// Every request logs one info line counting its channels by kind, and each
// event a debug line with its channels.
func TestPublishLogs(t *testing.T) {
	api := testkit.NewPusherAPI(t, upstreamID, upstreamKey, upstreamSecret)
	// The driver as FromEnv builds it, logging to the handler's logger.
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := broadcast.New(broadcast.Config{Connection: "pusher", Pusher: broadcast.PusherConfig{
		AppID: upstreamID, Key: upstreamKey, Secret: upstreamSecret, Host: api.Host(), Port: api.Port(), Scheme: "http"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	h, err := publish.FromEnv(t.Context(), config.Map(map[string]string{"PUBLISH_APP_ID": appID, "PUBLISH_APP_KEY": key, "PUBLISH_APP_SECRET": secret, "PUBLISH_MODE": "direct"}),
		publish.Deps{Driver: d, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signed(t, "POST", "/apps/3/events", `{"name":"EmailSent","channels":["App.Models.User.42","private-App.Models.User.42","presence-chat"],"data":"{}"}`, nil))
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	out := logs.String()
	for _, want := range []string{
		`level=DEBUG msg=broadcast driver=pusher event=EmailSent channels="[App.Models.User.42 private-App.Models.User.42 presence-chat]"`,
		`level=INFO msg=publish route=events mode=direct events=1 channels.public=1 channels.private=1 channels.presence=1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
