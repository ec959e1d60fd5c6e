package publish_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/heraldrt/herald/functions/publish"
	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/signature"
)

// The publish credentials the samples are signed with (Pusher's published
// example key and secret) and the upstream provider's, deliberately
// different.
const (
	appID  = "3"
	key    = "278d425bdf160c739803"
	secret = "7ad3773142a6692b25b8"

	upstreamID, upstreamKey, upstreamSecret = "upstream", "upstream-key", "upstream-secret"

	// sampleTime is when the HTTP samples were signed.
	sampleTime = 1795000000
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// handler builds the handler as its entry point does, with the publish
// credentials, PUBLISH_MODE mode, and more settings and deps.
func handler(t *testing.T, mode string, more map[string]string, deps publish.Deps) *publish.Handler {
	t.Helper()
	env := map[string]string{"PUBLISH_APP_ID": appID, "PUBLISH_APP_KEY": key, "PUBLISH_APP_SECRET": secret, "PUBLISH_MODE": mode}
	for k, v := range more {
		env[k] = v
	}
	deps.Logger = quiet
	h, err := publish.FromEnv(t.Context(), config.Map(env), deps)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// direct is a direct-mode handler broadcasting to a stand-in Pusher API;
// now, when not nil, is its clock.
func direct(t *testing.T, now func() time.Time) (*publish.Handler, *testkit.PusherAPI) {
	t.Helper()
	api := testkit.NewPusherAPI(t, upstreamID, upstreamKey, upstreamSecret)
	return handler(t, publish.ModeDirect, nil, publish.Deps{Driver: newUpstreamDriver(t, api), Now: now}), api
}

// newUpstreamDriver is a pusher driver publishing to api.
func newUpstreamDriver(t *testing.T, api *testkit.PusherAPI) *broadcast.Pusher {
	t.Helper()
	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: upstreamID, Key: upstreamKey, Secret: upstreamSecret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// broadcastQueue is the broadcast queue in the package's moto, behind a
// client that can fail single entries.
type broadcastQueue struct {
	client *sqs.Client
	url    string
	api    *testkit.FaultySQS
}

// bodies receives the bodies of the messages that arrived since the last
// call, in the order they were sent.
func (q *broadcastQueue) bodies(t *testing.T) []string {
	t.Helper()
	all := []string{}
	for _, m := range testkit.ReceiveAll(t, q.client, q.url) {
		all = append(all, aws.ToString(m.Body))
	}
	return all
}

func queued(t *testing.T) (*publish.Handler, *broadcastQueue) {
	t.Helper()
	client := sqs.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))
	q := &broadcastQueue{client: client, url: testkit.Queue(t, client, "broadcast"), api: &testkit.FaultySQS{SQS: client}}
	return handler(t, publish.ModeQueue, map[string]string{"BROADCAST_QUEUE_URL": q.url}, publish.Deps{SQS: q.api}), q
}

func TestNodePusherSDK(t *testing.T) {
	h, api := direct(t, nil)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	script := filepath.Join(testkit.RepoRoot(t), "functions", "publish", "testdata", "pusher-sdk.js")
	out := testkit.RunNode(t, 90*time.Second, []string{
		"HERALD_HOST=" + u.Hostname(), "HERALD_PORT=" + u.Port(), "APP_ID=" + appID, "APP_KEY=" + key, "APP_SECRET=" + secret,
	}, script)
	var got map[string]int
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &got); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	if want := map[string]int{"trigger": 200, "triggerBatch": 200, "tampered": 401, "stale": 401}; !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	evs := api.Events()
	for i := range evs {
		evs[i].Request = 0
	}
	want := []testkit.PusherEvent{
		{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: `{"subject":"Welcome to herald","email_id":1001}`},
		{Name: "EmailRead", Channels: []string{"private-App.Models.User.42"}, Data: `{"email_id":1001}`},
		{Name: "EmailSent", Channels: []string{"private-App.Models.User.7"}, Data: `plain text`},
	}
	if !sameEvents(evs, want) {
		t.Fatalf("broadcasts = %+v, want %+v (and nothing from the refused calls)", evs, want)
	}
}

// sameEvents compares ignoring the order of events on different channels.
func sameEvents(got, want []testkit.PusherEvent) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && reflect.DeepEqual(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "events", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func invokeSample(t *testing.T, h http.Handler, name string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := lambda.NewHandler(httpapi.Handler(h)).Invoke(context.Background(), sample(t, name))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestSamplesThroughTheLambdaPath(t *testing.T) {
	signedAt := func() time.Time { return time.Unix(sampleTime+30, 0) }
	cases := []struct {
		sample string
		want   []testkit.PusherEvent
	}{
		{"http-publish-events.json", []testkit.PusherEvent{
			{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: `{"subject":"Welcome to herald","from":"admin@example.com","email_id":1001}`},
		}},
		{"http-publish-batch-events.json", []testkit.PusherEvent{
			{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: `{"subject":"Welcome to herald","email_id":1001}`},
			{Name: "EmailSent", Channels: []string{"private-App.Models.User.43"}, Data: `{"subject":"Your weekly digest","email_id":1002}`},
		}},
	}
	for _, c := range cases {
		t.Run(c.sample, func(t *testing.T) {
			h, api := direct(t, signedAt)
			resp := invokeSample(t, h, c.sample)
			if resp.StatusCode != 200 || resp.Body != "{}" {
				t.Fatalf("response %d %q", resp.StatusCode, resp.Body)
			}
			evs := api.Events()
			for i := range evs {
				evs[i].Request = 0
			}
			if !sameEvents(evs, c.want) {
				t.Fatalf("broadcasts = %+v, want %+v", evs, c.want)
			}

			// The same signed request today is stale.
			h, api = direct(t, nil)
			if resp := invokeSample(t, h, c.sample); resp.StatusCode != 401 || !strings.Contains(resp.Body, "auth_timestamp") {
				t.Fatalf("stale sample: %d %q", resp.StatusCode, resp.Body)
			}
			if n := len(api.Requests()); n != 0 {
				t.Fatalf("a refused request reached the provider (%d calls)", n)
			}
		})
	}
}

// signed builds a request signed with the publish credentials.
func signed(t *testing.T, method, path, body string, mutate func(url.Values)) *http.Request {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	q := signature.SignRequest(method, path, nil, b, key, secret, time.Now())
	if mutate != nil {
		mutate(q)
	}
	r := httptest.NewRequest(method, path+"?"+q.Encode(), strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestRefusals(t *testing.T) {
	event := `{"name":"EmailSent","channels":["private-App.Models.User.42"],"data":"{}"}`
	big := `{"name":"E","channel":"c","data":"` + strings.Repeat("x", publish.MaxBodyBytes) + `"}`
	cases := []struct {
		name   string
		req    *http.Request
		status int
		body   string
	}{
		{"unknown app", signed(t, "POST", "/apps/4/events", event, nil), 404, `app id "4" is not the PUBLISH_APP_ID`},
		{"unknown route", signed(t, "POST", "/apps/3/webhooks", event, nil), 404, `{"error":"Not found: POST /apps/3/webhooks is not a route`},
		{"POST to a query route", signed(t, "POST", "/apps/3/channels", event, nil), 405, "use GET"},
		{"GET", signed(t, "GET", "/apps/3/events", "", nil), 405, "use POST"},
		{"body over 1 MB", signed(t, "POST", "/apps/3/events", big, nil), 413, "larger than 1048576 bytes"},
		{"no signature", httptest.NewRequest("POST", "/apps/3/events", strings.NewReader(event)), 401, "missing authentication parameter: auth_key"},
		{"wrong key", signed(t, "POST", "/apps/3/events", event, func(q url.Values) { q.Set("auth_key", "other") }), 401, "unknown auth_key"},
		{"tampered signature", signed(t, "POST", "/apps/3/events", event, func(q url.Values) {
			s := []byte(q.Get("auth_signature"))
			s[len(s)-1] ^= 1 // one character off
			q.Set("auth_signature", string(s))
		}), 401, "invalid auth_signature; requests to herald are signed with PUBLISH_APP_KEY and PUBLISH_APP_SECRET"},
		{"tampered body", func() *http.Request {
			r := signed(t, "POST", "/apps/3/events", event, nil)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(event, "42", "43", 1)))
			return r
		}(), 401, "body_md5"},
		{"stale timestamp", signed(t, "POST", "/apps/3/events", event, func(q url.Values) {
			ts := strconv.FormatInt(time.Now().Add(-11*time.Minute).Unix(), 10)
			q.Set("auth_timestamp", ts)
			q.Set("auth_signature", signature.HMAC(secret, signature.RequestString("POST", "/apps/3/events", q)))
		}), 401, "auth_timestamp"},
		{"invalid JSON", signed(t, "POST", "/apps/3/events", `{"name":`, nil), 400, "Invalid JSON"},
		{"invalid channel", signed(t, "POST", "/apps/3/events", `{"name":"E","channels":["a b"],"data":"{}"}`, nil), 400, `channels[0]: "a b"`},
		{"reserved event name", signed(t, "POST", "/apps/3/events", `{"name":"pusher:x","channel":"a","data":"{}"}`, nil), 400, "reserved"},
		{"data over 10 KB", signed(t, "POST", "/apps/3/events", `{"name":"E","channel":"a","data":"`+strings.Repeat("x", 10241)+`"}`, nil), 413, "data: is 10241 bytes, the limit is 10240"},
		{"batch to events", signed(t, "POST", "/apps/3/events", `{"batch":[]}`, nil), 400, "batch_events"},
		{"bad event in batch", signed(t, "POST", "/apps/3/batch_events", `{"batch":[{"name":"E","channel":"a","data":"{}"},{"name":"E","channel":"#bad","data":"{}"}]}`, nil), 400, "batch[1].channel"},
	}
	h, api := direct(t, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, c.req)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.body) {
				t.Fatalf("%d %q, want %d containing %q", w.Code, w.Body.String(), c.status, c.body)
			}
			if strings.Contains(w.Body.String(), secret) {
				t.Fatal("the secret leaked into the answer")
			}
		})
	}
	if n := len(api.Requests()); n != 0 {
		t.Fatalf("refused requests reached the provider: %d calls", n)
	}
}

func TestProviderFailures(t *testing.T) {
	h, api := direct(t, nil)
	event := `{"name":"EmailSent","channels":["private-App.Models.User.42"],"data":"{}"}`
	for _, c := range []struct {
		fault  int
		status int
	}{{503, 503}, {429, 503}, {413, 413}, {403, 503}, {400, 400}, {404, 502}} {
		api.SetFault(func(testkit.PusherRequest) testkit.Fault { return testkit.Fault{Status: c.fault} })
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signed(t, "POST", "/apps/3/events", event, nil))
		if w.Code != c.status {
			t.Errorf("provider %d: answered %d %q, want %d", c.fault, w.Code, w.Body.String(), c.status)
		}
	}
}

func TestQueueMode(t *testing.T) {
	h, q := queued(t)
	body := `{"batch":[{"channel":"private-App.Models.User.42","name":"EmailSent","data":"{\"subject\":\"Welcome\"}","info":"subscription_count"},{"channel":"private-App.Models.User.7","name":"EmailSent","data":"{}","socket_id":"123.456"}]}`
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signed(t, "POST", "/apps/3/batch_events", body, nil))
	if w.Code != 200 || w.Body.String() != "{}" {
		t.Fatalf("%d %q", w.Code, w.Body.String())
	}
	got := q.bodies(t)
	want := []string{
		`{"name":"EmailSent","channels":["private-App.Models.User.42"],"data":"{\"subject\":\"Welcome\"}"}`,
		`{"name":"EmailSent","channels":["private-App.Models.User.7"],"data":"{}","socket_id":"123.456"}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("queued =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A queue that fails one entry on its side (after the retries) makes the
	// answer 503, so the SDK retries; one blaming the entry is a 500.
	for _, c := range []struct {
		fault  types.BatchResultErrorEntry
		status int
	}{
		{types.BatchResultErrorEntry{Code: aws.String("InternalError"), Message: aws.String("try again")}, 503},
		{types.BatchResultErrorEntry{Code: aws.String("InvalidMessageContents"), Message: aws.String("no"), SenderFault: true}, 500},
	} {
		q.api.SetFault(func(body string) *types.BatchResultErrorEntry {
			if strings.Contains(body, "User.7") {
				f := c.fault
				return &f
			}
			return nil
		})
		w = httptest.NewRecorder()
		h.ServeHTTP(w, signed(t, "POST", "/apps/3/batch_events", body, nil))
		if w.Code != c.status || !strings.Contains(w.Body.String(), "1 of 2 events could not be queued") {
			t.Fatalf("%s: %d %q, want %d", aws.ToString(c.fault.Code), w.Code, w.Body.String(), c.status)
		}
		if got := q.bodies(t); len(got) != 1 || !strings.Contains(got[0], "User.42") {
			t.Fatalf("%s: queued %q, want only the event to user 42", aws.ToString(c.fault.Code), got)
		}
	}
}

// A queue that does not exist is the deployment's fault: retrying the
// request cannot help, so the answer is a 500.
func TestQueueModeWithoutTheQueue(t *testing.T) {
	srv := testkit.Moto(t)
	h := handler(t, publish.ModeQueue, map[string]string{"BROADCAST_QUEUE_URL": srv.Endpoint + "/" + moto.AccountID + "/" + testkit.UniqueName(t, "missing")},
		publish.Deps{SQS: sqs.NewFromConfig(testkit.AWSConfig(srv))})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signed(t, "POST", "/apps/3/events", `{"name":"EmailSent","channels":["private-App.Models.User.42"],"data":"{}"}`, nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), "1 of 1 events could not be queued on BROADCAST_QUEUE_URL's queue") || !strings.Contains(w.Body.String(), "NonExistentQueue") {
		t.Fatalf("%d %q, want 500 naming the missing queue", w.Code, w.Body.String())
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg publish.Config
		err string
	}{
		{publish.Config{Key: "k", Secret: "s", Mode: "direct"}, "PUBLISH_APP_ID"},
		{publish.Config{AppID: "1", Secret: "s", Mode: "direct"}, "PUBLISH_APP_KEY"},
		{publish.Config{AppID: "1", Key: "k", Mode: "direct"}, "PUBLISH_APP_SECRET"},
		{publish.Config{AppID: "1", Key: "k", Secret: "s", Mode: "queue"}, "BROADCAST_QUEUE_URL"},
		{publish.Config{AppID: "1", Key: "k", Secret: "s", Mode: "later"}, `PUBLISH_MODE "later"`},
	}
	for _, c := range cases {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.err)
		}
	}
}
