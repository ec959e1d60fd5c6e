package stream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/heraldrt/herald/functions/stream"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/delivery"
)

const (
	appID  = "3"
	key    = "278d425bdf160c739803"
	secret = "7ad3773142a6692b25b8"
)

const tablesYAML = `
Users:
  mode: model
  model: User
  hidden: [password, remember_token]
Outbox:
  mode: outbox
`

// The model as the browser must see it: exact numbers (the 30-digit
// account number unrounded), sets as arrays, binary as base64, no password
// hash or remember token.
const aliceModel = `{"account_number":123456789012345678901234567890,"avatar_thumb":"iVBORw0KGgo=","email":"alice@example.com","id":42,"lucky_numbers":[3.14,7,42],"name":"Alice","roles":["admin","editor"],"settings":{"digest":null,"notify":true,"tags":["a",1],"theme":"dark"},"unread_emails":%s}`

func model(unread string) string {
	return `{"model":` + strings.Replace(aliceModel, "%s", unread, 1) + `}`
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "events", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handler builds the handler as its entry point does, with tablesYAML as
// STREAM_TABLES, broadcasting to api and dead-lettering to dl (none when
// nil).
func handler(t *testing.T, api *testkit.PusherAPI, logs *bytes.Buffer, dl *deadletter.Sender) *stream.Handler {
	return handlerFor(t, tablesYAML, api, logs, dl)
}

// handlerFor is handler with tables as STREAM_TABLES.
func handlerFor(t *testing.T, tables string, api *testkit.PusherAPI, logs *bytes.Buffer, dl *deadletter.Sender) *stream.Handler {
	t.Helper()
	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	deps := stream.Deps{Driver: d, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	if dl != nil {
		deps.DeadLetters = dl
	}
	h, err := stream.FromEnv(t.Context(), config.Map(map[string]string{"STREAM_TABLES": tables}), deps)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newDLQ creates a dead-letter queue in the package's moto and a sender to
// it.
func newDLQ(t *testing.T) (*testkit.DLQ, *deadletter.Sender) {
	t.Helper()
	q := testkit.NewDLQ(t)
	s, err := deadletter.New(q.Client, deadletter.Config{QueueURL: q.URL})
	if err != nil {
		t.Fatal(err)
	}
	return q, s
}

func invoke(t *testing.T, h *stream.Handler, event []byte) (events.DynamoDBEventResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := lambda.NewHandler(h.Handle).Invoke(ctx, event)
	if err != nil {
		return events.DynamoDBEventResponse{}, err
	}
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp, nil
}

func failures(resp events.DynamoDBEventResponse) []string {
	out := []string{}
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	return out
}

func accepted(api *testkit.PusherAPI) []testkit.PusherEvent {
	evs := api.Events()
	for i := range evs {
		evs[i].Request = 0
	}
	return evs
}

func user42(name, data string) testkit.PusherEvent {
	return testkit.PusherEvent{Name: name, Channels: []string{"private-App.Models.User.42"}, Data: data}
}

func TestHandleSamples(t *testing.T) {
	cases := []struct {
		name     string
		sample   string
		fault    func(testkit.PusherRequest) testkit.Fault
		want     []testkit.PusherEvent
		failures []string
	}{
		{name: "insert", sample: "dynamodb-users-insert.json", want: []testkit.PusherEvent{user42("UserCreated", model("3"))}, failures: []string{}},
		{
			// The second MODIFY only rotates the hidden remember token: skipped.
			name: "modify", sample: "dynamodb-users-modify.json",
			want: []testkit.PusherEvent{user42("UserUpdated", model("4"))}, failures: []string{},
		},
		{name: "remove announces the old image", sample: "dynamodb-users-remove.json", want: []testkit.PusherEvent{user42("UserDeleted", model("4"))}, failures: []string{}},
		{
			name: "outbox insert", sample: "dynamodb-outbox-insert.json",
			want:     []testkit.PusherEvent{user42("EmailSent", `{"email_id":1001,"from":"admin@example.com","subject":"Welcome to herald"}`)},
			failures: []string{},
		},
		{
			name: "temporary failure is reported by sequence number", sample: "dynamodb-users-modify.json",
			fault:    testkit.FailChannel("private-App.Models.User.42", http.StatusServiceUnavailable),
			failures: nil, // every record failed or was skipped: see below
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := testkit.NewPusherAPI(t, appID, key, secret)
			api.SetFault(c.fault)
			var logs bytes.Buffer
			h := handler(t, api, &logs, nil)
			resp, err := invoke(t, h, sample(t, c.sample))
			if c.failures == nil {
				// One record failed for now and the other had nothing to
				// send: that still counts as progress, so the answer is a
				// partial batch response naming the failed record.
				if err != nil {
					t.Fatal(err)
				}
				if got, want := failures(resp), []string{"111200000000000000000002"}; !reflect.DeepEqual(got, want) {
					t.Fatalf("failures = %v, want %v", got, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := failures(resp); !reflect.DeepEqual(got, c.failures) {
				t.Errorf("batchItemFailures = %v, want %v", got, c.failures)
			}
			if got := accepted(api); !reflect.DeepEqual(got, c.want) {
				t.Errorf("broadcasts =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

// record builds a stream record of a table.
func record(table, seq, eventName string, newImage string) json.RawMessage {
	return json.RawMessage(`{"eventID":"ev-` + seq + `","eventName":"` + eventName + `","eventSource":"aws:dynamodb",
	  "eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/` + table + `/stream/2026-11-18T20:00:00.000",
	  "dynamodb":{"SequenceNumber":"` + seq + `","NewImage":` + newImage + `}}`)
}

func TestPoisonRecords(t *testing.T) {
	good := `{"id":{"N":"7"},"name":{"S":"Bob"}}`
	recs := []json.RawMessage{
		record("Users", "100", "INSERT", good),
		record("Unknown", "200", "INSERT", good),
		record("Users", "300", "INSERT", `{"name":{"S":"no id"}}`),
		record("Outbox", "400", "INSERT", `{"pk":{"S":"x"},"name":{"S":"EmailSent"},"channel":{"S":"bad channel"},"data":{"M":{}}}`),
		record("Users", "500", "INSERT", `{"id":{"N":"0x10"}}`),
		json.RawMessage(`{"eventID":"ev-600","dynamodb":{"SequenceNumber":"600","NewImage":"not an image"}}`),
	}
	reasons := map[string]string{
		"200": "table Unknown is not configured (STREAM_TABLES)",
		"300": `channel "private-App.Models.User.{id}": the item has no attribute "id"`,
		"400": `channels[0]: "bad channel": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`,
		"500": `NewImage.id.N: "0x10" is not a number`,
		"600": "record is not a DynamoDB stream record: json: cannot unmarshal string into Go struct field record.dynamodb.NewImage of type map[string]jsontext.Value",
	}
	event, _ := json.Marshal(stream.Event{Records: recs})

	t.Run("without DLQ they are reported", func(t *testing.T) {
		api := testkit.NewPusherAPI(t, appID, key, secret)
		var logs bytes.Buffer
		resp, err := invoke(t, handler(t, api, &logs, nil), event)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := failures(resp), []string{"200", "300", "400", "500", "600"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("failures = %v, want %v", got, want)
		}
		if got := accepted(api); len(got) != 1 || got[0].Name != "UserCreated" || got[0].Channels[0] != "private-App.Models.User.7" {
			t.Fatalf("broadcasts = %+v, want Bob's UserCreated only", got)
		}
		for _, line := range testkit.Lines(logs.String()) {
			var rec struct{ Msg, SequenceNumber, Reason string }
			json.Unmarshal([]byte(line), &rec)
			if rec.Msg == "poison record" && rec.Reason != reasons[rec.SequenceNumber] {
				t.Errorf("record %s logged with %q, want %q", rec.SequenceNumber, rec.Reason, reasons[rec.SequenceNumber])
			}
		}
	})

	t.Run("with DLQ they are dead-lettered with their reasons", func(t *testing.T) {
		api := testkit.NewPusherAPI(t, appID, key, secret)
		q, dl := newDLQ(t)
		h := handler(t, api, &bytes.Buffer{}, dl)
		resp, err := invoke(t, h, event)
		if err != nil {
			t.Fatal(err)
		}
		if got := failures(resp); len(got) != 0 {
			t.Fatalf("failures = %v, want none", got)
		}
		letters := q.Letters(t)
		if len(letters) != len(reasons) {
			t.Fatalf("%d dead letters, want %d", len(letters), len(reasons))
		}
		for _, l := range letters {
			id := l.Attributes[deadletter.AttrSourceID]
			seq := strings.TrimPrefix(id, "ev-")
			if got := l.Attributes[deadletter.AttrReason]; got != reasons[seq] {
				t.Errorf("%s: reason %q, want %q", id, got, reasons[seq])
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(l.Body), &body); err != nil || body["eventID"] != id {
				t.Errorf("%s: body is not the original record: %s", id, l.Body)
			}
		}
		if src := letters[0].Attributes[deadletter.AttrSource]; src != "stream:Unknown" {
			t.Errorf("source = %q, want stream:Unknown", src)
		}
	})
}

func TestAllFailedFailsTheBatch(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	api.SetFault(func(testkit.PusherRequest) testkit.Fault { return testkit.Fault{Status: 500} })
	_, err := invoke(t, handler(t, api, &bytes.Buffer{}, nil), sample(t, "dynamodb-users-insert.json"))
	if !errors.Is(err, delivery.ErrNothingDelivered) {
		t.Fatalf("err = %v", err)
	}
}

func TestOnlyAndChannelTemplates(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	h := handlerFor(t, `
Users:
  mode: model
  model: User
  only: [id, name, password]
  hidden: [password]
  channels: ["private-App.Models.User.{id}", "presence-team.{team}", "private-App.Models.User.{id}"]
`, api, &bytes.Buffer{}, nil)
	event, _ := json.Marshal(stream.Event{Records: []json.RawMessage{
		record("Users", "1", "INSERT", `{"id":{"S":"u-1"},"name":{"S":"Bob"},"team":{"N":"9"},"password":{"S":"x"}}`),
	}})
	resp, err := invoke(t, h, event)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%v %v", resp, err)
	}
	want := []testkit.PusherEvent{{Name: "UserCreated", Channels: []string{"private-App.Models.User.u-1", "presence-team.9"}, Data: `{"model":{"id":"u-1","name":"Bob"}}`}}
	if got := accepted(api); !reflect.DeepEqual(got, want) {
		t.Fatalf("broadcasts = %+v, want %+v", got, want)
	}
}

// Lambda resumes a stream batch from the lowest sequence number reported,
// so a poison record after a record to retry is dead-lettered once, when
// the stream delivers it again, never twice.
func TestPoisonAfterARetryWaitsForRedelivery(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	q, dl := newDLQ(t)
	h := handler(t, api, &bytes.Buffer{}, dl)
	recs := []json.RawMessage{
		record("Unknown", "100", "INSERT", `{"id":{"N":"1"}}`), // poison before the failure
		record("Users", "200", "INSERT", `{"id":{"N":"7"}}`),
		record("Users", "300", "INSERT", `{"id":{"N":"42"}}`),  // its channel fails for now, and with it the call it shares with 200 and 500
		record("Unknown", "400", "INSERT", `{"id":{"N":"2"}}`), // poison after the failure
		record("Users", "500", "INSERT", `{"id":{"N":"8"}}`),
	}
	api.SetFault(testkit.FailChannel("private-App.Models.User.42", http.StatusServiceUnavailable))
	event, _ := json.Marshal(stream.Event{Records: recs})
	resp, err := invoke(t, h, event)
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(resp); !reflect.DeepEqual(got, []string{"200", "300", "500"}) {
		t.Fatalf("failures = %v, want [200 300 500]", got)
	}
	// Each read takes what arrived since the one before.
	dlqIDs := func() []string {
		var ids []string
		for _, l := range q.Letters(t) {
			ids = append(ids, l.Attributes[deadletter.AttrSourceID])
		}
		return ids
	}
	if got := dlqIDs(); !reflect.DeepEqual(got, []string{"ev-100"}) {
		t.Fatalf("dead letters after the first delivery = %v, want [ev-100]", got)
	}

	// Lambda delivers again from the lowest reported, 200.
	api.SetFault(nil)
	event, _ = json.Marshal(stream.Event{Records: recs[1:]})
	if resp, err = invoke(t, h, event); err != nil {
		t.Fatal(err)
	}
	if got := failures(resp); len(got) != 0 {
		t.Fatalf("failures on redelivery = %v", got)
	}
	if got := dlqIDs(); !reflect.DeepEqual(got, []string{"ev-400"}) {
		t.Fatalf("dead letters on redelivery = %v, want only ev-400: each poison record once", got)
	}
}
