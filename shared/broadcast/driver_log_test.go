package broadcast

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLogDriver(t *testing.T) {
	var buf bytes.Buffer
	d := NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	msgs := []Message{
		{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: `{"subject":"Welcome"}`, SocketID: "1.2", ID: "abc"},
		{Name: "Ping", Channels: []string{"a", "b"}, Data: "{}"},
	}
	if err := d.Broadcast(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per message:\n%s", len(lines), buf.String())
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	want := map[string]any{"level": "INFO", "msg": "broadcast", "event": "EmailSent", "channels": []any{"private-App.Models.User.42"},
		"socket_id": "1.2", "id": "abc", "data_bytes": float64(21), "data": `{"subject":"Welcome"}`}
	for k, v := range want {
		if got, _ := json.Marshal(first[k]); string(got) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
		}
	}
	if _, ok := second["socket_id"]; ok {
		t.Error("socket_id logged for a message without one")
	}
	if _, ok := second["id"]; ok {
		t.Error("id logged for a message without one")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	buf.Reset()
	if err := d.Broadcast(ctx, msgs); err == nil || buf.Len() != 0 {
		t.Fatalf("cancelled: err %v, logged %q", err, buf.String())
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestNullDriver(t *testing.T) {
	var d Driver = Null{}
	if err := d.Broadcast(context.Background(), []Message{{Name: "x", Channels: []string{"a"}}}); err != nil || d.Name() != "null" {
		t.Fatal(err)
	}
	if d.Limits() != NewLog(nil).Limits() {
		t.Fatal("null and log limits differ")
	}
}

func TestNew(t *testing.T) {
	pusherCfg := PusherConfig{AppID: "3", Key: exampleKey, Secret: exampleSecret}
	for _, c := range []struct {
		cfg  Config
		name string
		err  string
	}{
		{Config{Connection: "pusher", Pusher: pusherCfg}, "pusher", ""},
		{Config{Connection: "ably", Ably: AblyConfig{Key: testAblyKey}}, "ably", ""},
		{Config{Connection: "log"}, "log", ""},
		{Config{Connection: "null", Pusher: PusherConfig{AppID: "ignored"}}, "null", ""},
		{Config{Connection: "pusher"}, "", "PUSHER_APP_ID is empty"},
		{Config{Connection: "ably"}, "", "ABLY_KEY is empty"},
		{Config{Connection: "reverb", Pusher: PusherConfig{AppID: "1", Key: "k", Secret: "s", Host: "127.0.0.1", Reverb: true}}, "pusher", ""},
		{Config{Connection: "soketi"}, "", `BROADCAST_CONNECTION "soketi" is not one of pusher, reverb, ably, log, null`},
		{Config{}, "", "BROADCAST_CONNECTION is empty (want one of pusher, reverb, ably, log, null)"},
	} {
		d, err := New(c.cfg, nil)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%+v: err %v, want %q", c.cfg.Connection, err, c.err)
			}
			continue
		}
		if err != nil || d.Name() != c.name {
			t.Errorf("%s: %v, %v", c.cfg.Connection, d, err)
		}
	}
}

// The network drivers New builds log each message's event and channels at
// debug level, never its data.
func TestNewLogsBroadcasts(t *testing.T) {
	s := newPusherStandIn(t)
	var buf bytes.Buffer
	d, err := New(Config{Connection: "pusher", Pusher: s.config()}, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Broadcast(context.Background(), []Message{{Name: "EmailSent", Channels: []string{"App.Models.User.42"}, Data: `{"secret":"s3"}`}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `level=DEBUG msg=broadcast driver=pusher event=EmailSent channels=[App.Models.User.42]`) || strings.Contains(out, "s3") {
		t.Fatalf("log:\n%s\nwant the event and channel, not the data", out)
	}
}
