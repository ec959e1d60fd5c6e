package stream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/heraldrt/herald/functions/stream"
	"github.com/heraldrt/herald/infra/ratelimit"
	"github.com/heraldrt/herald/infra/server"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
)

// TestRateLimitedStreamFailsAtTheFirstRecordNotSent runs a stream batch
// against a provider that admits one request and then asks for a pause of
// five seconds: the records reported are exactly those not accepted, so
// Lambda resumes at the first record not sent. Delivered again at once, in
// the same container, the batch sends nothing during the pause and fails
// at its first record, reported as a partial failure rather than an error,
// which would make Lambda bisect the batch and spend its retry attempts.
func TestRateLimitedStreamFailsAtTheFirstRecordNotSent(t *testing.T) {
	srv, err := server.New(server.Config{Apps: []server.App{{ID: appID, Key: key, Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	stand := ratelimit.Wrap(srv.Handler(), ratelimit.Limits{AppRate: 0.2, AppBurst: 1})
	ts := httptest.NewServer(stand)
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	port, _ := strconv.Atoi(u.Port())
	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: u.Hostname(), Port: port, Scheme: "http", Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := stream.FromEnv(t.Context(), config.Map(map[string]string{"STREAM_TABLES": tablesYAML}),
		stream.Deps{Driver: d, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}

	var recs []json.RawMessage
	for i := 1; i <= 25; i++ {
		recs = append(recs, record("Users", strconv.Itoa(100*i), "INSERT", fmt.Sprintf(`{"id":{"N":"%d"}}`, i)))
	}
	run := func(recs []json.RawMessage) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		resp, err := h.Handle(ctx, stream.Event{Records: recs})
		if err != nil {
			t.Fatalf("Handle: %v (a rate-limited batch must fail by sequence number, not as a whole)", err)
		}
		return failures(resp)
	}

	failed := run(recs)
	var notSent []string
	for i := 1; i <= 25; i++ {
		if !delivered(stand, i) {
			notSent = append(notSent, strconv.Itoa(100*i))
		}
	}
	if len(notSent) == 0 || len(notSent) == 25 {
		t.Fatalf("%d of 25 records not sent: want one request admitted and the rest refused", len(notSent))
	}
	if fmt.Sprint(failed) != fmt.Sprint(notSent) {
		t.Fatalf("reported %v, want exactly the records not sent %v", failed, notSent)
	}
	requests := stand.Stats().Requests

	// Lambda delivers again from the lowest reported record.
	from := 0
	for i, r := range recs {
		var probe struct {
			Dynamodb struct{ SequenceNumber string }
		}
		json.Unmarshal(r, &probe)
		if probe.Dynamodb.SequenceNumber == failed[0] {
			from = i
		}
	}
	again := run(recs[from:])
	if stand.Stats().Requests != requests {
		t.Fatal("a request went to the provider during its Retry-After")
	}
	if len(again) == 0 || again[0] != failed[0] {
		t.Fatalf("redelivery reported %v, want a failure from %s", again, failed[0])
	}
}

// delivered reports whether the model event of user i reached the stand-in.
func delivered(stand *ratelimit.Handler, i int) bool {
	return stand.Delivered(appID, "private-App.Models.User."+strconv.Itoa(i), "UserCreated", fmt.Sprintf(`{"model":{"id":%d}}`, i)) > 0
}
