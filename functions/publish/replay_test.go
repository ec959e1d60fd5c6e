package publish_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/functions/publish"
	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/signature"
)

// idempotencyTable creates a table shaped as template.yaml's
// IdempotencyTable in srv.
func idempotencyTable(t *testing.T, srv *moto.Server) string {
	t.Helper()
	db := dynamodb.NewFromConfig(testkit.AWSConfig(srv))
	name := testkit.UniqueName(t, "idempotency")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	}); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return name
}

// replayHandler is a queue-mode handler with PUBLISH_REPLAY_WINDOW set,
// keeping signatures in a table in moto (or at endpoint, when given).
func replayHandler(t *testing.T, window string, now func() time.Time, endpoint ...string) (*publish.Handler, *broadcastQueue) {
	t.Helper()
	srv := testkit.Moto(t)
	client := sqs.NewFromConfig(testkit.AWSConfig(srv))
	q := &broadcastQueue{client: client, url: testkit.Queue(t, client, "broadcast"), api: &testkit.FaultySQS{SQS: client}}
	aws := srv.Endpoint
	if len(endpoint) > 0 {
		aws = endpoint[0]
	}
	h := handler(t, publish.ModeQueue, map[string]string{
		"BROADCAST_QUEUE_URL": q.url, publish.EnvReplayWindow: window, "IDEMPOTENCY_TABLE": idempotencyTable(t, srv),
		"AWS_ENDPOINT_URL": aws, "AWS_REGION": moto.Region, "AWS_ACCESS_KEY_ID": moto.AccessKeyID, "AWS_SECRET_ACCESS_KEY": moto.SecretAccessKey,
		"AWS_MAX_ATTEMPTS": "1",
	}, publish.Deps{SQS: q.api, Now: now})
	return h, q
}

// signedAt is a request signed with the publish credentials at ts.
func signedAt(method, path, body string, ts time.Time) *http.Request {
	q := signature.SignRequest(method, path, nil, []byte(body), key, secret, ts)
	r := httptest.NewRequest(method, path+"?"+q.Encode(), strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// send serves a copy of r, body included, so that r can be sent again
// byte for byte, as a replay is.
func send(h http.Handler, r *http.Request) (int, string) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, c)
	return w.Code, w.Body.String()
}

// TestReplay: on Pusher a captured signed request can be sent again for
// 600 s. With PUBLISH_REPLAY_WINDOW it is accepted once; the same events
// signed again (a new timestamp, a new signature) are a new request, and
// queries are not affected.
func TestReplay(t *testing.T) {
	now := time.Now()
	clock := now
	h, q := replayHandler(t, "300s", func() time.Time { return clock })
	const event = `{"name":"EmailSent","channels":["private-App.Models.User.42"],"data":"{}"}`
	first := signedAt(http.MethodPost, "/apps/"+appID+"/events", event, now.Add(-10*time.Second))

	if status, body := send(h, first); status != http.StatusOK {
		t.Fatalf("first request: %d %s", status, body)
	}
	if status, body := send(h, first); status != http.StatusUnauthorized || strings.TrimSpace(body) != "replayed request" {
		t.Errorf("the same request again: %d %q, want 401 replayed request", status, body)
	}
	if status, body := send(h, signedAt(http.MethodPost, "/apps/"+appID+"/events", event, now)); status != http.StatusOK {
		t.Errorf("the same event signed again: %d %s", status, body)
	}
	// Older than the window: Pusher would take it, herald cannot know
	// whether it has seen it.
	if status, body := send(h, signedAt(http.MethodPost, "/apps/"+appID+"/events", event, now.Add(-301*time.Second))); status != http.StatusUnauthorized || !strings.Contains(body, publish.EnvReplayWindow) {
		t.Errorf("a request signed 301 s ago: %d %q, want 401 naming %s", status, body, publish.EnvReplayWindow)
	}
	if got := len(q.bodies(t)); got != 2 {
		t.Errorf("%d events queued, want 2", got)
	}

	// 410 s later the first request still verifies (Pusher's window is
	// 600 s), but it is older than PUBLISH_REPLAY_WINDOW, past which its
	// record may be gone: refused.
	clock = now.Add(400 * time.Second)
	if status, body := send(h, first); status != http.StatusUnauthorized || !strings.Contains(body, publish.EnvReplayWindow) {
		t.Errorf("the first request again after the window: %d %q, want 401 naming %s", status, body, publish.EnvReplayWindow)
	}
}

// TestReplayStoreDown: a request that cannot be checked is refused with
// 503, which SDKs retry, never accepted unchecked.
func TestReplayStoreDown(t *testing.T) {
	h, _ := replayHandler(t, "60s", nil, "http://127.0.0.1:1")
	if status, body := send(h, signedAt(http.MethodPost, "/apps/"+appID+"/events", `{"name":"e","channels":["c"],"data":"{}"}`, time.Now())); status != http.StatusServiceUnavailable || !strings.Contains(body, "replay") {
		t.Errorf("%d %q, want 503 naming the replay check", status, body)
	}
}

// TestReplayConfig: the window is off by default and, when set, must be
// usable.
func TestReplayConfig(t *testing.T) {
	base := map[string]string{"PUBLISH_APP_ID": appID, "PUBLISH_APP_KEY": key, "PUBLISH_APP_SECRET": secret, "PUBLISH_MODE": "direct", "BROADCAST_CONNECTION": "null"}
	for _, tc := range []struct{ window, table, want string }{
		{"300s", "", "IDEMPOTENCY_TABLE"},
		{"0.5s", "t", publish.EnvReplayWindow},
		{"601s", "t", publish.EnvReplayWindow},
		{"soon", "t", publish.EnvReplayWindow},
	} {
		env := map[string]string{publish.EnvReplayWindow: tc.window, "IDEMPOTENCY_TABLE": tc.table}
		for k, v := range base {
			env[k] = v
		}
		if _, err := publish.FromEnv(t.Context(), config.Map(env), publish.Deps{Logger: quiet}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s, IDEMPOTENCY_TABLE=%q: %v, want an error naming %s", publish.EnvReplayWindow, tc.window, tc.table, err, tc.want)
		}
	}
}
