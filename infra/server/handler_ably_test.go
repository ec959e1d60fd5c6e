package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ably/ably-go/ably"

	"github.com/heraldrt/herald/shared/protocol"
)

func ablyClient(t testing.TB, ts *testServer, key string, opts ...ably.ClientOption) *ably.REST {
	t.Helper()
	host, port, _ := strings.Cut(ts.addr, ":")
	var p int
	for _, ch := range port {
		p = p*10 + int(ch-'0')
	}
	base := []ably.ClientOption{
		ably.WithKey(key),
		ably.WithRESTHost(host),
		ably.WithPort(p),
		ably.WithTLS(false),
		ably.WithInsecureAllowBasicAuthWithoutTLS(),
		ably.WithHTTPMaxRetryCount(0),
		ably.WithLogLevel(ably.LogNone),
	}
	rest, err := ably.NewREST(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return rest
}

// ablyKey is the test key's parts: its Name is the Pusher key pusher-js
// uses through Ably's adapter.
var ablyKey, _ = protocol.ParseAblyKey(testAblyKey)

func TestAblyPublish(t *testing.T) {
	ts := startServer(t, testConfig())
	for _, proto := range []struct {
		name   string
		binary bool
	}{{"msgpack", true}, {"json", false}} {
		t.Run(proto.name, func(t *testing.T) {
			rest := ablyClient(t, ts, testAblyKey, ably.WithUseBinaryProtocol(proto.binary))
			c := dial(t, ts.wsURL(ablyKey.Name))
			c.subscribe("orders", "")
			// Subscriptions to an Ably-configured app verify with the Ably
			// key's secret.
			c.send(map[string]any{"event": "pusher:subscribe", "data": subscribeData{Channel: "private-orders", Auth: signAs(ablyKey.Name, ablyKey.Secret, c.socketID, "private-orders")}})
			if a := c.answer("private-orders"); a.Event != "pusher_internal:subscription_succeeded" {
				t.Fatalf("private subscription with the Ably key: %s %s", a.Event, a.Data)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			if err := rest.Channels.Get("public:orders").Publish(ctx, "created", `{"id":1}`); err != nil {
				t.Fatal(err)
			}
			if got := c.expect("created"); got.Channel != "orders" || got.str() != `{"id":1}` {
				t.Fatalf("got %+v", got)
			}
			// Object data travels as JSON text; bytes as their text.
			if err := rest.Channels.Get("private:orders").PublishMultiple(ctx, []*ably.Message{
				{Name: "obj", Data: map[string]any{"a": 1}},
				{Name: "bin", Data: []byte("raw bytes")},
			}); err != nil {
				t.Fatal(err)
			}
			if got := c.expect("obj"); got.Channel != "private-orders" || got.str() != `{"a":1}` {
				t.Fatalf("got %+v", got)
			}
			if got := c.expect("bin"); got.str() != "raw bytes" {
				t.Fatalf("got %+v", got)
			}

			// A repeated id is accepted and delivered once.
			id := "dedup-" + proto.name
			for range 2 {
				if err := rest.Channels.Get("public:orders").PublishMultiple(ctx, []*ably.Message{{ID: id, Name: "once", Data: "1"}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := rest.Channels.Get("public:orders").Publish(ctx, "after", "2"); err != nil {
				t.Fatal(err)
			}
			c.expect("once")
			if got := c.next(); got.Event != "after" {
				t.Fatalf("duplicate delivered: got %s", got.Event)
			}

			res, err := rest.Channels.Get("public:orders").PublishWithResult(ctx, "serial", "3")
			if err != nil || res.Serial == nil || *res.Serial == "" {
				t.Fatalf("PublishWithResult %+v %v", res, err)
			}
			c.expect("serial")
		})
	}
}

func signAs(key, secret, socketID, ch string) string {
	return key + ":" + hmacHex(secret, socketID+":"+ch)
}

func TestAblyBatchPublish(t *testing.T) {
	ts := startServer(t, testConfig())
	rest := ablyClient(t, ts, testAblyKey)
	c := dial(t, ts.wsURL(ablyKey.Name))
	c.subscribe("news", "")
	c.subscribe("sport", "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	body := []map[string]any{
		{"channels": []string{"public:news", "public:sport"}, "messages": []map[string]any{{"name": "headline", "data": "h1"}}},
		{"channels": []string{"public:news"}, "messages": map[string]any{"name": "single", "data": "s1", "id": "batch-1"}},
		{"channels": []string{"public:news"}, "messages": map[string]any{"name": "single", "data": "s1", "id": "batch-1"}},
	}
	resp, err := rest.Request("POST", "/messages", ably.RequestWithBody(body)).Pages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode())
	}
	if !resp.Next(ctx) {
		t.Fatalf("no batch answer: %v", resp.Err())
	}
	var results []batchResult
	if err := resp.Items(&results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 || results[0].SuccessCount != 2 || results[0].FailureCount != 0 {
		t.Fatalf("results %+v", results)
	}
	got := map[string]int{}
	for len(got) < 3 {
		f := c.next()
		got[f.Channel+"/"+f.Event]++
	}
	c.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	for f := c.next(); f.Event != "pusher:pong"; f = c.next() {
		got[f.Channel+"/"+f.Event]++
	}
	want := map[string]int{"news/headline": 1, "sport/headline": 1, "news/single": 1}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("deliveries %v, want %v", got, want)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
}

func TestAblyRefusals(t *testing.T) {
	ts := startServer(t, testConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t.Run("wrong secret", func(t *testing.T) {
		rest := ablyClient(t, ts, ablyKey.Name+":wrong")
		err := rest.Channels.Get("public:x").Publish(ctx, "e", "d")
		var ae *ably.ErrorInfo
		if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != 40101 {
			t.Fatalf("err %v, want 401/40101", err)
		}
	})
	t.Run("wrong key name", func(t *testing.T) {
		rest := ablyClient(t, ts, "appAbc.other:"+ablyKey.Secret)
		err := rest.Channels.Get("public:x").Publish(ctx, "e", "d")
		var ae *ably.ErrorInfo
		if !errors.As(err, &ae) || ae.StatusCode != 401 {
			t.Fatalf("err %v, want 401", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		req, _ := http.NewRequest("POST", "http://"+ts.addr+"/channels/public:x/messages", strings.NewReader(`{"name":"e","data":"d"}`))
		req.Header.Set("Content-Type", "application/json")
		if status, body := httpDo(t, req); status != 401 || !strings.Contains(body, `"code":40100`) {
			t.Fatalf("status %d %s", status, body)
		}
	})
	t.Run("too large", func(t *testing.T) {
		rest := ablyClient(t, ts, testAblyKey)
		err := rest.Channels.Get("public:x").Publish(ctx, "e", strings.Repeat("x", protocol.AblyMaxMessageBytes+1))
		var ae *ably.ErrorInfo
		if !errors.As(err, &ae) || ae.StatusCode != 413 || ae.Code != 40009 {
			t.Fatalf("err %v, want 413/40009", err)
		}
	})
	t.Run("time needs no auth", func(t *testing.T) {
		rest := ablyClient(t, ts, ablyKey.Name+":wrong")
		tm, err := rest.Time(ctx)
		if err != nil || time.Since(tm) > time.Hour || time.Since(tm) < -time.Hour {
			t.Fatalf("Time %v %v", tm, err)
		}
	})
}

func TestDedupWindow(t *testing.T) {
	d := newDedup(2 * time.Minute)
	t0 := time.Unix(1000, 0)
	if !d.first("c", "1", t0) || d.first("c", "1", t0.Add(time.Minute)) {
		t.Fatal("repeat within the window not caught")
	}
	if !d.first("other", "1", t0) {
		t.Fatal("same id on another channel treated as a repeat")
	}
	if !d.first("c", "1", t0.Add(2*time.Minute+time.Second)) {
		t.Fatal("id still remembered after the window")
	}
	// Expired ids are forgotten, not kept forever.
	if len(d.seen) != 1 || len(d.order) != 1 {
		t.Fatalf("%d ids remembered, want 1", len(d.seen))
	}
}

// TestAblyBatchJSON posts a batch as JSON, as Ably's REST API documents
// it, with one channel that cannot be published to.
func TestAblyBatchJSON(t *testing.T) {
	ts := startServer(t, testConfig())
	c := dial(t, ts.wsURL(ablyKey.Name))
	c.subscribe("alerts", "")
	body := `{"channels":["public:alerts",""],"messages":[{"name":"fire","data":"{\"level\":3}","encoding":"json"},{"name":"b64","data":"aGVsbG8=","encoding":"base64"}]}`
	req, _ := http.NewRequest("POST", "http://"+ts.addr+"/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(ablyKey.Name, ablyKey.Secret)
	status, resp := httpDo(t, req)
	if status != http.StatusCreated {
		t.Fatalf("status %d %s", status, resp)
	}
	if !strings.Contains(resp, `"successCount":1,"failureCount":1`) || !strings.Contains(resp, `"code":40010`) {
		t.Fatalf("answer %s", resp)
	}
	if f := c.expect("fire"); f.str() != `{"level":3}` {
		t.Fatalf("got %+v", f)
	}
	if f := c.expect("b64"); f.str() != "hello" {
		t.Fatalf("got %+v", f)
	}
	for _, bad := range []string{`{"channels":[],"messages":[]}`, `7`, `{"channels":["public:x"],"messages":[{"data":"x","encoding":"cipher+aes-128-cbc"}]}`} {
		req, _ := http.NewRequest("POST", "http://"+ts.addr+"/messages", strings.NewReader(bad))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(ablyKey.Name, ablyKey.Secret)
		if status, resp := httpDo(t, req); status != http.StatusBadRequest || !strings.Contains(resp, `"error"`) {
			t.Fatalf("%s: status %d %s", bad, status, resp)
		}
	}
}
