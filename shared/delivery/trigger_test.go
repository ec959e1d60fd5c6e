package delivery_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/delivery"
)

// TestTriggerRun: what each item's source is told, and what reaches the
// dead-letter queue, for an unordered source (SQS) and an ordered one
// (a stream, which redelivers everything after the first item reported).
func TestTriggerRun(t *testing.T) {
	env := func(ch string) string { return `{"name":"E","channel":"` + ch + `","data":{}}` }
	items := []delivery.Item{
		{ID: "1", Source: "test", Raw: "bad 1", Err: errors.New("unreadable")},
		{ID: "2", Source: "test", Raw: env("ok"), Body: []byte(env("ok"))},
		{ID: "3", Source: "test", Raw: env("down"), Body: []byte(env("down"))},
		{ID: "4", MessageID: "ev-4", Source: "test", Raw: "bad 4", Err: errors.New("unreadable")},
	}
	for _, c := range []struct {
		name    string
		ordered bool
		failed  []string // the items reported to the source
		letters []string // the dead letters' source ids
	}{
		// 2 shares its provider call with 3, and fails with it.
		{"unordered", false, []string{"2", "3"}, []string{"1", "ev-4"}},
		// 4 comes again after 2 and is dead-lettered then, once.
		{"ordered", true, []string{"2", "3"}, []string{"1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := testkit.NewPusherAPI(t, appID, key, secret)
			api.SetFault(testkit.FailChannel("down", http.StatusServiceUnavailable))
			p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
			if err != nil {
				t.Fatal(err)
			}
			q := testkit.NewDLQ(t)
			dl, err := deadletter.New(q.Client, deadletter.Config{QueueURL: q.URL})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := delivery.FromEnv(t.Context(), config.Map(nil), delivery.Deps{Driver: p, DeadLetters: dl, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			tr.Ordered = c.ordered
			results, err := tr.Run(invocation(t), items)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for i, r := range results {
				if r.Failed {
					failed = append(failed, items[i].ID)
				}
			}
			if !reflect.DeepEqual(failed, c.failed) {
				t.Errorf("failed = %v, want %v", failed, c.failed)
			}
			var letters []string
			for _, l := range q.Letters(t) {
				letters = append(letters, l.Attributes[deadletter.AttrSourceID])
				if l.Attributes[deadletter.AttrSource] != "test" || l.Attributes[deadletter.AttrReason] != "unreadable" {
					t.Errorf("letter %+v, want source test and reason unreadable", l)
				}
			}
			if !reflect.DeepEqual(letters, c.letters) {
				t.Errorf("dead letters = %v, want %v", letters, c.letters)
			}
		})
	}

	t.Run("nothing delivered", func(t *testing.T) {
		api := testkit.NewPusherAPI(t, appID, key, secret)
		api.SetFault(testkit.FailChannel("down", http.StatusServiceUnavailable))
		p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
		if err != nil {
			t.Fatal(err)
		}
		// No dead-letter queue configured: poison would be reported.
		tr, err := delivery.FromEnv(t.Context(), config.Map(nil), delivery.Deps{Driver: p, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		results, err := tr.Run(invocation(t), items[2:3])
		if !errors.Is(err, delivery.ErrNothingDelivered) || len(results) != 1 || results[0].Status != delivery.Retry {
			t.Fatalf("Run = %+v, %v; want the one item to retry and ErrNothingDelivered", results, err)
		}
		results, err = tr.Run(invocation(t), items[:1])
		if err != nil || !results[0].Failed || results[0].Status != delivery.Poison {
			t.Fatalf("Run = %+v, %v; want the poison item reported without a dead-letter queue", results, err)
		}
	})
}
