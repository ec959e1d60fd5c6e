package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/coder/websocket"
	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/heraldrt/herald/functions/auth/token"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/deadletter"
	"github.com/heraldrt/herald/shared/signature"
)

// start runs a stack on free loopback ports with only vars set, and stops
// it when the test ends, failing the test if the shutdown is not clean. It
// uses the package's moto, reset: the package's tests run one after the
// other.
func start(t testing.TB, vars map[string]string, mod ...func(*Config)) *Stack {
	t.Helper()
	cfg := Config{
		HTTPAddr:    "127.0.0.1:0",
		ServerAddr:  "127.0.0.1:0",
		AWS:         testkit.Moto(t),
		Lookup:      func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		NodeModules: filepath.Join(testkit.RepoRoot(t), "infra", "node", "node_modules"),
		Logger:      slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, m := range mod {
		m(&cfg)
	}
	st, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shutdown: %v", err)
			}
		case <-time.After(ShutdownTimeout + 5*time.Second):
			t.Errorf("the stack did not stop within %v", ShutdownTimeout+5*time.Second)
		}
	})
	testkit.WaitForTCP(t, strings.TrimPrefix(st.URLs().HTTP, "http://"), 10*time.Second)
	return st
}

// eventually waits for cond, checking every 50 ms, or fails the test with
// what describes the last state.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %v; last state: %s", timeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, u string, header http.Header) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func devToken(t *testing.T, st *Stack, sub, name string) string {
	t.Helper()
	status, body := get(t, st.URLs().HTTP+"/dev/token?sub="+url.QueryEscape(sub)+"&name="+url.QueryEscape(name), nil)
	if status != http.StatusOK {
		t.Fatalf("/dev/token: %d %s", status, body)
	}
	var r struct{ Token string }
	if err := json.Unmarshal(body, &r); err != nil || r.Token == "" {
		t.Fatalf("/dev/token answered %s", body)
	}
	return r.Token
}

func TestDevToken(t *testing.T) {
	st := start(t, nil)
	tok := devToken(t, st, "42", "Alice")

	// The auth function's own verifier accepts it with the stack's secret.
	v, err := token.New(context.Background(), token.Config{Secret: st.Env("AUTH_JWT_SECRET")})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("verifying /dev/token's token: %v", err)
	}
	if claims["sub"] != "42" || claims["name"] != "Alice" {
		t.Errorf("claims = %v, want sub 42 and name Alice", claims)
	}

	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", http.StatusBadRequest},
		{"?name=Alice", http.StatusBadRequest},
		{"?sub=" + strings.Repeat("9", 129), http.StatusBadRequest},
		{"?sub=42&name=" + strings.Repeat("a", 101), http.StatusBadRequest},
		{"?sub=42", http.StatusOK},
	} {
		if status, body := get(t, st.URLs().HTTP+"/dev/token"+tc.query, nil); status != tc.want {
			t.Errorf("/dev/token%s: %d %s, want %d", tc.query, status, body, tc.want)
		}
	}
}

// TestAuthRoutes checks that the real AuthFunction answers on the deployed
// routes with the stack's configuration: the demo token opens the user's
// own channel and the presence channel, and nothing else.
func TestAuthRoutes(t *testing.T) {
	st := start(t, nil)
	alice := devToken(t, st, "42", "Alice")
	key, secret := st.Env("PUSHER_APP_KEY"), st.Env("PUSHER_APP_SECRET")

	for _, tc := range []struct {
		name, path, token, channel string
		want                       int
	}{
		{"own channel", "/broadcasting/auth", alice, "private-App.Models.User.42", http.StatusOK},
		{"presence", "/broadcasting/auth", alice, "presence-online", http.StatusOK},
		{"user sign-in", "/broadcasting/user-auth", alice, "", http.StatusOK},
		{"another user's channel", "/broadcasting/auth", alice, "private-App.Models.User.43", http.StatusForbidden},
		{"no token", "/broadcasting/auth", "", "private-App.Models.User.42", http.StatusUnauthorized},
		{"token signed with another secret", "/broadcasting/auth", forged(t, strings.Repeat("x", 40)), "private-App.Models.User.42", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"socket_id": {"1234.5678"}}
			if tc.channel != "" {
				form.Set("channel_name", tc.channel)
			}
			req, _ := http.NewRequest(http.MethodPost, st.URLs().HTTP+tc.path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			status, body := do(t, req)
			if status != tc.want {
				t.Fatalf("%d %s, want %d", status, body, tc.want)
			}
			if status != http.StatusOK || tc.channel != "private-App.Models.User.42" {
				return
			}
			var r struct{ Auth string }
			json.Unmarshal(body, &r)
			want := signature.ChannelAuth(key, secret, "1234.5678", tc.channel, "")
			if r.Auth != want {
				t.Errorf("auth = %q, want %q (signed with the embedded server's app)", r.Auth, want)
			}
		})
	}
}

// forged is a well-formed HS256 token for user 42 signed with secret.
func forged(t *testing.T, secret string) string {
	other := &Stack{env: newEnv(func(k string) (string, bool) {
		if k == "AUTH_JWT_SECRET" {
			return secret, true
		}
		return "", false
	}, "", "127.0.0.1:1", "http://127.0.0.1:2", resources{})}
	tok, _, err := other.signToken("42", "Mallory", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPublishThroughQueue has pusher-http-go, as an app would, trigger an
// event through the PublishFunction on the local HTTP API: in queue mode it
// lands on the broadcast queue in moto and the poller hands it to the QueueFunction,
// which deletes it once broadcast. A bad signature is refused.
func TestPublishThroughQueue(t *testing.T) {
	st := start(t, nil)
	host := strings.TrimPrefix(st.URLs().HTTP, "http://")
	client := pusher.Client{AppID: st.Env("PUBLISH_APP_ID"), Key: st.Env("PUBLISH_APP_KEY"), Secret: st.Env("PUBLISH_APP_SECRET"), Host: host}
	if err := client.Trigger("private-App.Models.User.42", "EmailSent", map[string]string{"subject": "via publish"}); err != nil {
		t.Fatalf("trigger through the PublishFunction: %v", err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		s := st.poller.Stats()
		q := queueState(t, st, st.URLs().Queue)
		return s.Deleted == 1 && q.Visible+q.InFlight == 0, fmt.Sprintf("%+v, queue %+v", s, q)
	})

	bad := client
	bad.Secret = "not-the-secret"
	err := bad.Trigger("private-App.Models.User.42", "EmailSent", "x")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("trigger with a wrong secret: %v, want a 401", err)
	}
}

// TestRedeliveryThenDLQ points the driver at a port nothing listens on:
// every broadcast fails temporarily, so the QueueFunction fails the batch,
// the message comes back after each visibility timeout and, after the
// fifth receive, moto's redrive policy moves it to the DLQ.
func TestRedeliveryThenDLQ(t *testing.T) {
	dead := testkit.FreePort(t)
	// One attempt per invocation: the retries under test are the queue's.
	st := start(t, map[string]string{"PUSHER_PORT": strconv.Itoa(dead), "BROADCAST_RETRY_MAX_ATTEMPTS": "1"}, func(c *Config) {
		c.VisibilityTimeout = time.Second
		c.SQS = SQSMapping{BatchSize: 10} // no batching window: it must be shorter than the visibility timeout
	})
	id, err := st.SendEmail(context.Background(), "42", "never delivered", "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() (bool, string) {
		d := queueState(t, st, st.URLs().DLQ)
		return d.Visible == 1, fmt.Sprintf("poller %+v, queue %+v", st.poller.Stats(), queueState(t, st, st.URLs().Queue))
	})
	letters := deadLetters(t, st)
	// Five receives from the broadcast queue, and this one.
	if len(letters) != 1 || letters[0].ID != id || letters[0].ReceiveCount != MaxReceiveCount+1 {
		t.Errorf("DLQ holds %+v, want %s received %d times and read once", letters, id, MaxReceiveCount)
	}
	if s := st.poller.Stats(); s.Batches != MaxReceiveCount || s.BatchErrs != MaxReceiveCount || s.Deleted != 0 {
		t.Errorf("poller stats %+v, want 5 failed batches and nothing deleted", s)
	}
	if q := queueState(t, st, st.URLs().Queue); q.Visible+q.InFlight != 0 {
		t.Errorf("messages left on the broadcast queue: %+v", q)
	}
}

// TestPoisonToDLQ sends what no function can broadcast: the QueueFunction
// dead-letters it at once with the reason, and acknowledges it.
func TestPoisonToDLQ(t *testing.T) {
	st := start(t, nil)
	_, err := sqs.NewFromConfig(st.AWSConfig()).SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl:    aws.String(st.URLs().Queue),
		MessageBody: aws.String(`{"name":"EmailSent","channels":["private-a b"],"data":{}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		d, q := queueState(t, st, st.URLs().DLQ), queueState(t, st, st.URLs().Queue)
		return d.Visible == 1 && q.Visible+q.InFlight == 0, fmt.Sprintf("DLQ %+v, queue %+v", d, q)
	})
	m := deadLetters(t, st)[0]
	reason := m.Attributes[deadletter.AttrReason]
	if !strings.Contains(reason, "private-a b") || m.ReceiveCount != 1 {
		t.Errorf("dead letter reason %q, receives %d; want the channel named and only this read", reason, m.ReceiveCount)
	}
}

func queueState(t testing.TB, st *Stack, url string) QueueState {
	t.Helper()
	q, err := st.queueState(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func deadLetters(t testing.TB, st *Stack) []DeadLetter {
	t.Helper()
	l, err := st.DeadLetters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFailures(t *testing.T) {
	p := &sqsPoller{}
	var ev events.SQSEvent
	for _, id := range []string{"a", "b", "c"} {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: id})
	}
	for _, tc := range []struct {
		name    string
		out     string
		err     error
		keep    string
		isBatch bool
	}{
		{"all succeeded", `{"batchItemFailures":[]}`, nil, "", false},
		{"null failures", `{"batchItemFailures":null}`, nil, "", false},
		{"null response", `null`, nil, "", false},
		{"one failed", `{"batchItemFailures":[{"itemIdentifier":"b"}]}`, nil, "b", false},
		{"two failed", `{"batchItemFailures":[{"itemIdentifier":"c"},{"itemIdentifier":"a"}]}`, nil, "a,c", false},
		{"function error", ``, fmt.Errorf("boom"), "a,b,c", true},
		{"unknown identifier", `{"batchItemFailures":[{"itemIdentifier":"zz"}]}`, nil, "a,b,c", true},
		{"empty identifier", `{"batchItemFailures":[{"itemIdentifier":""}]}`, nil, "a,b,c", true},
		{"not a response", `"ok"`, nil, "a,b,c", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep, reason := p.failures(ev, []byte(tc.out), tc.err)
			var ids []string
			for _, id := range []string{"a", "b", "c"} {
				if keep[id] {
					ids = append(ids, id)
				}
			}
			if got := strings.Join(ids, ","); got != tc.keep || (reason != "") != tc.isBatch {
				t.Errorf("keep %q, reason %q; want keep %q, whole batch %t", got, reason, tc.keep, tc.isBatch)
			}
		})
	}
}

// TestInvoke runs sample events through Invoke against a running stack, as
// `make invoke` does: the email sample is broadcast, the poison sample's
// bad messages reach the running stack's DLQ.
func TestInvoke(t *testing.T) {
	st := start(t, nil)
	cfg := InvokeConfig{
		ServerAddr: strings.TrimPrefix(st.URLs().Server, "http://"),
		AWSAddr:    strings.TrimPrefix(st.URLs().AWS, "http://"),
		Lookup:     func(string) (string, bool) { return "", false },
		Logger:     slog.New(slog.DiscardHandler),
	}
	samples := filepath.Join(testkit.RepoRoot(t), "events", "samples")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(samples, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	out, err := Invoke(context.Background(), cfg, "QueueFunction", read("sqs-email-sent.json"))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ BatchItemFailures []any }
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("QueueFunction on the email sample answered %s (%v)", out, err)
	}

	if _, err := Invoke(context.Background(), cfg, "QueueFunction", read("sqs-mixed-poison.json")); err != nil {
		t.Fatal(err)
	}
	if n := queueState(t, st, st.URLs().DLQ).Visible; n == 0 {
		t.Error("the poison sample left nothing in the running stack's DLQ")
	}

	out, err = Invoke(context.Background(), cfg, "StreamFunction", read("dynamodb-users-modify.json"))
	if err != nil || !strings.Contains(string(out), "batchItemFailures") {
		t.Errorf("StreamFunction on the MODIFY sample: %s, %v", out, err)
	}

	// The auth samples carry tokens signed with the local JWT secret.
	for _, sample := range []string{"http-auth-private.json", "http-auth-presence.json", "http-auth-user.json"} {
		out, err = Invoke(context.Background(), cfg, "AuthFunction", read(sample))
		var r struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err != nil || json.Unmarshal(out, &r) != nil || r.StatusCode != 200 || !strings.Contains(r.Body, `"auth":"local-key:`) {
			t.Errorf("AuthFunction on %s: %s, %v", sample, out, err)
		}
	}
	// The publish and webhook samples are signed with Pusher's example
	// credentials at a long-past time: Invoke signs them again with the
	// running stack's, says so without the secret, and they go through.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws42 := subscribe(t, ctx, st, "private-App.Models.User.42")
	ws43 := subscribe(t, ctx, st, "private-App.Models.User.43")
	var notices strings.Builder
	resigned := cfg
	resigned.Notices = &notices
	kept := cfg
	kept.KeepSignature = true
	status := func(out []byte) int {
		var r struct {
			StatusCode int `json:"statusCode"`
		}
		json.Unmarshal(out, &r)
		return r.StatusCode
	}
	for _, tc := range []struct {
		fn, sample, names string
		kept              int // the answer to the sample as it is
		arrive            map[*websocket.Conn]string
	}{
		// The samples' app id 3 is not the stack's.
		{"PublishFunction", "http-publish-events.json", "PUBLISH_APP_ID=local, PUBLISH_APP_KEY=local-key", http.StatusNotFound, map[*websocket.Conn]string{ws42: "Welcome to herald"}},
		{"PublishFunction", "http-publish-batch-events.json", "PUBLISH_APP_ID=local, PUBLISH_APP_KEY=local-key", http.StatusNotFound, map[*websocket.Conn]string{ws42: "Welcome to herald", ws43: "Your weekly digest"}},
		{"WebhookFunction", "http-webhook-pusher.json", "PUSHER_APP_KEY=local-key", http.StatusUnauthorized, nil},
	} {
		if out, err := Invoke(ctx, kept, tc.fn, read(tc.sample)); err != nil || status(out) != tc.kept {
			t.Errorf("%s on %s with KeepSignature: %s, %v; want %d", tc.fn, tc.sample, out, err, tc.kept)
		}
		notices.Reset()
		out, err := Invoke(ctx, resigned, tc.fn, read(tc.sample))
		if err != nil || status(out) != http.StatusOK {
			t.Errorf("%s on %s: %s, %v; want 200", tc.fn, tc.sample, out, err)
		}
		n := notices.String()
		if strings.Count(n, "\n") != 1 || !strings.Contains(n, "signed it again with "+tc.names) || strings.Contains(n, localAppSecret) {
			t.Errorf("%s on %s: notice %q, want one line naming %s and no secret", tc.fn, tc.sample, n, tc.names)
		}
		for ws, subject := range tc.arrive {
			if f := readUntil(t, ctx, ws, EmailEvent); !strings.Contains(f.Data, subject) {
				t.Errorf("%s on %s: %s arrived on %s, want %q", tc.fn, tc.sample, f.Data, f.Channel, subject)
			}
		}
	}
	// Both webhook events are in the presence table.
	rows, err := dynamodb.NewFromConfig(st.AWSConfig()).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(PresenceTable)})
	if err != nil || rows.Count < 2 {
		t.Errorf("the presence table after the webhook sample: %v rows, %v; want the channel and the member", rows, err)
	}
	// An event signed with the stack's own credentials is left as it is.
	notices.Reset()
	current := signedPublishEvent(t, st, read("http-publish-events.json"))
	if out, err := Invoke(ctx, resigned, "PublishFunction", current); err != nil || status(out) != http.StatusOK || notices.Len() != 0 {
		t.Errorf("PublishFunction on a currently signed event: %s, %v, notice %q; want 200 and no notice", out, err, notices.String())
	}
	readUntil(t, ctx, ws42, EmailEvent)

	if _, err := Invoke(context.Background(), cfg, "NoSuchFunction", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "QueueFunction") {
		t.Errorf("unknown function: %v, want an error listing the functions", err)
	}
}

// signedPublishEvent is a publish sample for the stack's app, signed with
// its publish credentials now, as an SDK would sign it.
func signedPublishEvent(t *testing.T, st *Stack, sample []byte) []byte {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(sample, &ev); err != nil {
		t.Fatal(err)
	}
	path := "/apps/" + st.Env("PUBLISH_APP_ID") + "/events"
	ev.RawPath, ev.RequestContext.HTTP.Path, ev.PathParameters = path, path, map[string]string{"app_id": st.Env("PUBLISH_APP_ID")}
	q := signature.SignRequest("POST", path, nil, []byte(ev.Body), st.Env("PUBLISH_APP_KEY"), st.Env("PUBLISH_APP_SECRET"), time.Now())
	ev.RawQueryString, ev.QueryStringParameters = q.Encode(), nil
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
