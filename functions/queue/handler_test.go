package queue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/heraldrt/herald/functions/queue"
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

// Broadcasts the samples carry, as the Pusher API receives them.
var (
	emailSent = testkit.PusherEvent{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"},
		Data: `{"subject":"Welcome to herald","from":"admin@example.com","email_id":1001}`}
	emailRead = testkit.PusherEvent{Name: "EmailRead", Channels: []string{"private-App.Models.User.42", "private-App.Models.User.43"},
		Data: `{"email_id":1001}`}
	notification = testkit.PusherEvent{Name: `Illuminate\Notifications\Events\BroadcastNotificationCreated`, Channels: []string{"private-App.Models.User.42"},
		Data: `{"id":"9b1d5c7e-2c3f-4c1a-8d2e-000000000042","subject":"Welcome to herald","type":"App\\Notifications\\EmailSent"}`}
)

func sample(t *testing.T, name string) []byte {
	t.Helper()
	return sampleF(t, name)
}

func sampleF(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "events", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func driver(t *testing.T, api *testkit.PusherAPI) broadcast.Driver {
	t.Helper()
	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	return d
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

// invoke runs the handler through the Lambda JSON path, as the runtime does.
// handler builds the handler as its entry point does, from an empty
// environment and deps.
func handler(t *testing.T, deps queue.Deps) *queue.Handler {
	t.Helper()
	h, err := queue.FromEnv(t.Context(), config.Map(nil), deps)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func invoke(t *testing.T, h *queue.Handler, event []byte) (events.SQSEventResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// As the bootstrap serves it: the handler's own Invoke, behind
	// aws-lambda-go's handler.
	out, err := lambda.NewHandler(h).Invoke(ctx, event)
	if err != nil {
		return events.SQSEventResponse{}, err
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp, nil
}

func failures(resp events.SQSEventResponse) []string {
	out := []string{}
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	sort.Strings(out)
	return out
}

// accepted returns the events the stand-in accepted, without the request
// index, sorted (calls on unrelated channels may arrive in any order).
func accepted(api *testkit.PusherAPI) []testkit.PusherEvent {
	evs := api.Events()
	for i := range evs {
		evs[i].Request = 0
	}
	sort.Slice(evs, func(i, j int) bool { return fmt.Sprint(evs[i]) < fmt.Sprint(evs[j]) })
	return evs
}

func sorted(evs ...testkit.PusherEvent) []testkit.PusherEvent {
	out := append([]testkit.PusherEvent{}, evs...)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

const (
	mixed      = "0f9a1c2e-2222-4b6e-9a51-6f3f2b7c000"
	badChannel = `channels[0]: "private-App Models User 42": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`
)

func TestHandleSamples(t *testing.T) {
	cases := []struct {
		name     string
		sample   string
		withDLQ  bool
		fault    func(testkit.PusherRequest) testkit.Fault
		want     []testkit.PusherEvent
		failures []string
		// dead are the poison messageIds with their exact reasons, as logged
		// and, with a DLQ, as dead-lettered.
		dead map[string]string
	}{
		{name: "email sent", sample: "sqs-email-sent.json", want: sorted(emailSent), failures: []string{}},
		{name: "SNS wrapped", sample: "sqs-sns-wrapped.json", want: sorted(emailSent), failures: []string{}},
		{name: "EventBridge wrapped", sample: "sqs-eventbridge-wrapped.json", want: sorted(emailSent), failures: []string{}},
		{
			name: "poison without DLQ is reported for the redrive policy", sample: "sqs-mixed-poison.json",
			want:     sorted(emailSent, emailRead, notification),
			failures: []string{mixed + "2", mixed + "3"},
			dead: map[string]string{
				mixed + "2": "body is not valid JSON",
				mixed + "3": badChannel,
			},
		},
		{
			name: "poison goes to the DLQ and is acknowledged", sample: "sqs-mixed-poison.json", withDLQ: true,
			want:     sorted(emailSent, emailRead, notification),
			failures: []string{},
			dead: map[string]string{
				mixed + "2": "body is not valid JSON",
				mixed + "3": badChannel,
			},
		},
		{
			// The trigger to users 42 and 43 fails for now; the notification
			// after it on channel 42 is held back so it cannot overtake it.
			// The first email went before and is not retried.
			name: "temporary provider failure fails only the affected messages", sample: "sqs-mixed-poison.json", withDLQ: true,
			fault:    testkit.FailChannel("private-App.Models.User.43", http.StatusServiceUnavailable),
			want:     sorted(emailSent),
			failures: []string{mixed + "4", mixed + "5"},
			dead: map[string]string{
				mixed + "2": "body is not valid JSON",
				mixed + "3": badChannel,
			},
		},
		{
			// A permanent refusal is poison: dead-lettered with the
			// provider's answer, never retried.
			name: "permanent provider refusal is dead-lettered", sample: "sqs-mixed-poison.json", withDLQ: true,
			fault:    testkit.FailChannel("private-App.Models.User.43", http.StatusRequestEntityTooLarge),
			want:     sorted(emailSent, notification),
			failures: []string{},
			dead: map[string]string{
				mixed + "2": "body is not valid JSON",
				mixed + "3": badChannel,
				mixed + "4": "refused by the provider: pusher trigger: HTTP 413 [permanent]: injected 413",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := testkit.NewPusherAPI(t, appID, key, secret)
			api.SetFault(c.fault)
			var logs bytes.Buffer
			deps := queue.Deps{Driver: driver(t, api), Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			var q *testkit.DLQ
			if c.withDLQ {
				q, deps.DeadLetters = newDLQ(t)
			}
			h := handler(t, deps)
			resp, err := invoke(t, h, sample(t, c.sample))
			if err != nil {
				t.Fatal(err)
			}
			if got := failures(resp); !reflect.DeepEqual(got, c.failures) {
				t.Errorf("batchItemFailures = %v, want %v", got, c.failures)
			}
			if got := accepted(api); !reflect.DeepEqual(got, c.want) {
				t.Errorf("broadcasts =\n%+v\nwant\n%+v", got, c.want)
			}
			logged := poisonLogged(t, &logs)
			for id, reason := range c.dead {
				if logged[id] != reason {
					t.Errorf("poison %s logged with reason %q, want %q", id, logged[id], reason)
				}
			}
			if q == nil {
				return
			}
			letters := q.Letters(t)
			if len(letters) != len(c.dead) {
				t.Fatalf("DLQ has %d messages, want %d: %+v", len(letters), len(c.dead), letters)
			}
			raw := map[string]string{}
			var ev events.SQSEvent
			json.Unmarshal(sample(t, c.sample), &ev)
			for _, r := range ev.Records {
				raw[r.MessageId] = r.Body
			}
			for _, l := range letters {
				id := l.Attributes[deadletter.AttrSourceID]
				want, ok := c.dead[id]
				if !ok {
					t.Errorf("unexpected dead letter for %s", id)
					continue
				}
				if r := l.Attributes[deadletter.AttrReason]; r != want {
					t.Errorf("dead letter %s reason %q, want it to contain %q", id, r, want)
				}
				if s := l.Attributes[deadletter.AttrSource]; s != queue.Source {
					t.Errorf("dead letter %s source %q", id, s)
				}
				if l.Body != raw[id] {
					t.Errorf("dead letter %s body %q, want the original %q", id, l.Body, raw[id])
				}
			}
		})
	}
}

// poisonLogged maps messageId to reason for every "poison message" log line.
func poisonLogged(t *testing.T, logs *bytes.Buffer) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range testkit.Lines(logs.String()) {
		var rec struct{ Msg, MessageID, Reason string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Msg == "poison message" {
			out[rec.MessageID] = rec.Reason
		}
	}
	return out
}

func sqsEvent(bodies ...string) []byte {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i+1), Body: b, EventSource: "aws:sqs"})
	}
	out, _ := json.Marshal(ev)
	return out
}

func TestTemporaryFailureOfOneChannelFailsOnlyItsMessage(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	api.SetFault(testkit.FailChannel("private-App.Models.User.3", http.StatusInternalServerError))
	var bodies []string
	for u := 1; u <= 25; u++ {
		bodies = append(bodies, fmt.Sprintf(`{"name":"EmailSent","channel":"private-App.Models.User.%d","data":{"n":%d}}`, u, u))
	}
	h := handler(t, queue.Deps{Driver: driver(t, api), Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	resp, err := invoke(t, h, sqsEvent(bodies...))
	if err != nil {
		t.Fatal(err)
	}
	// Users 1..25 travel in three batch_events calls of up to 10; the call
	// holding user 3 fails as a whole, so its ten messages are retried.
	got := failures(resp)
	var failedCall []string
	for _, r := range api.Requests() {
		if r.Status != http.StatusOK {
			for _, e := range r.Events {
				var n int
				fmt.Sscanf(e.Channels[0], "private-App.Models.User.%d", &n)
				failedCall = append(failedCall, fmt.Sprintf("m%d", n))
			}
		}
	}
	sort.Strings(failedCall)
	if !reflect.DeepEqual(got, failedCall) || !contains(got, "m3") {
		t.Fatalf("failures %v, want exactly the messages of the failed call %v (including m3)", got, failedCall)
	}
	if n := len(api.Events()); n != 25-len(got) {
		t.Fatalf("%d events accepted, want %d", n, 25-len(got))
	}
	if calls := len(api.Requests()); calls != 3 {
		t.Fatalf("%d provider calls for 25 single-channel messages, want 3", calls)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestWholeBatchFailsOnlyWhenNothingWasDelivered(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	api.SetFault(func(testkit.PusherRequest) testkit.Fault { return testkit.Fault{Status: http.StatusBadGateway} })
	deps := queue.Deps{Driver: driver(t, api), Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
	_, err := invoke(t, handler(t, deps), sample(t, "sqs-email-sent.json"))
	if !errors.Is(err, delivery.ErrNothingDelivered) {
		t.Fatalf("err = %v, want the whole batch failed", err)
	}
	// With a poison message beside it, something was processed: the
	// answer is a partial batch response.
	_, deps.DeadLetters = newDLQ(t)
	h := handler(t, deps)
	resp, err := invoke(t, h, sqsEvent(`{"name":"EmailSent","channel":"private-a","data":{}}`, `nope`))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(resp); !reflect.DeepEqual(got, []string{"m1"}) {
		t.Fatalf("failures = %v, want [m1]", got)
	}
}

// Wrong provider credentials are herald's fault, not the messages': they
// are retried (and, if it lasts, redriven by the queue), never dead-lettered
// as poison.
func TestProviderRefusingTheAccountIsNotPoison(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: "rotated", Host: api.Host(), Port: api.Port(), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	q, s := newDLQ(t)
	h := handler(t, queue.Deps{Driver: d, DeadLetters: s, Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	_, err = invoke(t, h, sample(t, "sqs-email-sent.json"))
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("err = %v, want the whole batch failed with the provider's 401", err)
	}
	if n := len(q.Letters(t)); n != 0 {
		t.Fatalf("%d messages dead-lettered for a credentials problem", n)
	}
}

type refusingDLQ struct{}

func (refusingDLQ) Send(_ context.Context, l []deadletter.Letter) []error {
	errs := make([]error, len(l))
	for i := range errs {
		errs[i] = fmt.Errorf("dlq unavailable")
	}
	return errs
}

func TestPoisonIsReportedWhenTheDLQRefusesIt(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	h := handler(t, queue.Deps{Driver: driver(t, api), DeadLetters: refusingDLQ{}, Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
	resp, err := invoke(t, h, sample(t, "sqs-mixed-poison.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := failures(resp), []string{mixed + "2", mixed + "3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("failures = %v, want %v", got, want)
	}
}

func TestUnwrap(t *testing.T) {
	env := `{"name":"EmailSent","channel":"private-a","data":{}}`
	snsOf := func(msg string) string {
		b, _ := json.Marshal(map[string]any{"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": msg})
		return string(b)
	}
	ebOf := func(detail string) string {
		return `{"version":"0","detail-type":"X","source":"app","detail":` + detail + `}`
	}
	cases := []struct {
		name, in, want, err string
	}{
		{"plain", env, env, ""},
		{"sns", snsOf(env), env, ""},
		{"eventbridge", ebOf(env), env, ""},
		{"eventbridge in sns", snsOf(ebOf(env)), env, ""},
		{"eventbridge detail as a string", ebOf(`"` + strings.ReplaceAll(env, `"`, `\"`) + `"`), env, ""},
		{"not json stays", "nope", "nope", ""},
		{"sns without message", `{"Type":"Notification","TopicArn":"arn"}`, "", "no Message"},
		{"eventbridge without detail", `{"detail-type":"X","source":"app"}`, "", "no detail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := queue.Unwrap([]byte(c.in))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("Unwrap = %s, %v; want %s", got, err, c.want)
			}
		})
	}
}

// A poison message's dead letter carries its body as it arrived: the SNS
// wrapper too, whether the envelope inside is invalid or the wrapper has
// no Message, and a plain body as it is.
func TestDeadLetterIsTheBodyAsItArrived(t *testing.T) {
	api := testkit.NewPusherAPI(t, appID, key, secret)
	q, dl := newDLQ(t)
	h := handler(t, queue.Deps{Driver: driver(t, api), DeadLetters: dl, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	bodies := map[string]string{
		"wrapped-invalid": `{"Type":"Notification","TopicArn":"arn:aws:sns:eu-west-1:123456789012:t","Message":"{\"name\":\"\",\"channel\":\"private-a\",\"data\":{}}"}`,
		"wrapped-empty":   `{"Type":"Notification","TopicArn":"arn:aws:sns:eu-west-1:123456789012:t"}`,
		"plain-invalid":   `{"name":"E","channel":"private-a b","data":{}}`,
		"escaped-\u00e9":  "{\"name\":\"E\u00e9\",\"channel\":\"private-a\",\"data\":{},\"x\":1}",
	}
	var ev events.SQSEvent
	for _, id := range slices.Sorted(maps.Keys(bodies)) {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, Body: bodies[id], EventSource: "aws:sqs"})
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, h, payload); err != nil {
		t.Fatal(err)
	}
	letters := q.Letters(t)
	if len(letters) != len(bodies) {
		t.Fatalf("%d dead letters, want %d: %+v", len(letters), len(bodies), letters)
	}
	for _, l := range letters {
		id := l.Attributes[deadletter.AttrSourceID]
		if l.Body != bodies[id] {
			t.Errorf("dead letter %s body %q, want %q", id, l.Body, bodies[id])
		}
	}
}
