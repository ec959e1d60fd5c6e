package webhook_test

import (
	"bytes"
	"context"
	"encoding/json/v2"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/functions/webhook"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/presence"
	"github.com/heraldrt/herald/shared/signature"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	pusherKey    = "278d425bdf160c739803"
	pusherSecret = "7ad3773142a6692b25b8"
	ablyKey      = "appId.keyId:ablySecretPart"
)

// countingBus is the real EventBridge client, counting PutEvents calls.
type countingBus struct {
	*eventbridge.Client
	calls atomic.Int32
}

func (b *countingBus) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	b.calls.Add(1)
	return b.Client.PutEvents(ctx, in, optFns...)
}

// rig is a handler on a presence table and an event bus of its own in
// moto; a rule sends every herald event on the bus to queue.
type rig struct {
	h     *webhook.Handler
	table *presence.Table
	bus   *countingBus
	sqs   *sqs.Client
	queue string
}

func newRig(t *testing.T, env map[string]string) *rig {
	t.Helper()
	ctx := context.Background()
	cfg := testkit.AWSConfig(testkit.Moto(t))
	ddb := dynamodb.NewFromConfig(cfg)
	tableName := testkit.UniqueName(t, "presence")
	if _, err := ddb.CreateTable(ctx, presence.CreateInput(tableName)); err != nil {
		t.Fatal(err)
	}
	table, err := presence.New(presence.Config{Name: tableName}, ddb)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{table: table, bus: &countingBus{Client: eventbridge.NewFromConfig(cfg)}, sqs: sqs.NewFromConfig(cfg)}
	busName := testkit.UniqueName(t, "bus")
	if _, err := r.bus.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(busName)}); err != nil {
		t.Fatal(err)
	}
	r.queue = testkit.Queue(t, r.sqs, "events")
	attrs, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(r.queue), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	rule := testkit.UniqueName(t, "rule")
	if _, err := r.bus.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(busName), EventPattern: aws.String(`{"source":["herald"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.bus.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(busName), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"PUSHER_APP_KEY": pusherKey, "PUSHER_APP_SECRET": pusherSecret, "ABLY_KEY": ablyKey, "HERALD_EVENT_BUS": busName}
	for k, v := range env {
		vars[k] = v
	}
	if r.h, err = webhook.FromEnv(ctx, config.Map(vars), webhook.Deps{Table: table, Bus: r.bus}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) post(t *testing.T, path string, header map[string]string, body []byte) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func pusherHeaders(body []byte) map[string]string {
	return map[string]string{"X-Pusher-Key": pusherKey, "X-Pusher-Signature": signature.Webhook(pusherSecret, body), "Content-Type": "application/json"}
}

func ablyHeaders(body []byte) map[string]string {
	return map[string]string{"X-Ably-Key": "appId.keyId", "X-Ably-Signature": signature.AblyWebhook("ablySecretPart", body), "Content-Type": "application/json"}
}

// busEvent is an EventBridge event as the rule delivers it to SQS.
type busEvent struct {
	DetailType string         `json:"detail-type"`
	Source     string         `json:"source"`
	Detail     webhook.Detail `json:"detail"`
}

func (r *rig) received(t *testing.T) []busEvent {
	t.Helper()
	var out []busEvent
	for _, m := range testkit.ReceiveAll(t, r.sqs, r.queue) {
		var e busEvent
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
			t.Fatalf("event %s: %v", aws.ToString(m.Body), err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b busEvent) int {
		if a.DetailType != b.DetailType {
			return bytes.Compare([]byte(a.DetailType), []byte(b.DetailType))
		}
		return bytes.Compare([]byte(a.Detail.UserID), []byte(b.Detail.UserID))
	})
	return out
}

func (r *rig) occupied(t *testing.T, channels ...string) map[string]bool {
	t.Helper()
	occ, err := r.table.Occupied(context.Background(), channels)
	if err != nil {
		t.Fatal(err)
	}
	return occ
}

// The known answer of Pusher's webhook signature (secret "secret", body
// {"hello":"world"}, from Pusher's HTTP API reference): the handler takes
// it as signed and goes on to find the body is no webhook (400), and
// refuses any other signature (401).
func TestPusherSignatureKnownAnswer(t *testing.T) {
	h, err := webhook.FromEnv(context.Background(), config.Map(map[string]string{"PUSHER_APP_KEY": "key", "PUSHER_APP_SECRET": "secret"}), webhook.Deps{Table: unusedTable{t}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"hello":"world"}`)
	const known = "2677ad3e7c090b2fa2c0fb13020d66d5420879b8316eb356a2d60fb9073bc778"
	if got := signature.Webhook("secret", body); got != known {
		t.Fatalf("signature.Webhook = %s, want %s", got, known)
	}
	for _, c := range []struct {
		key, sig string
		want     int
	}{
		{"key", known, http.StatusBadRequest},
		{"key", "2677ad3e7c090b2fa2c0fb13020d66d5420879b8316eb356a2d60fb9073bc779", http.StatusUnauthorized},
		{"key", "", http.StatusUnauthorized},
		{"other", known, http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodPost, webhook.PusherPath, bytes.NewReader(body))
		req.Header.Set("X-Pusher-Key", c.key)
		req.Header.Set("X-Pusher-Signature", c.sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("key %q signature %q: %d, want %d", c.key, c.sig, w.Code, c.want)
		}
	}
}

// unusedTable fails the test if the handler touches the table.
type unusedTable struct{ t *testing.T }

func (u unusedTable) Apply(context.Context, presence.Event) (bool, error) {
	u.t.Error("the table was written")
	return false, nil
}
func (u unusedTable) Seen(context.Context, string) (bool, error) {
	u.t.Error("the table was read")
	return false, nil
}
func (u unusedTable) MarkSeen(context.Context, string) error {
	u.t.Error("the table was written")
	return nil
}

func TestPusherWebhook(t *testing.T) {
	r := newRig(t, nil)
	body := []byte(`{"time_ms":1700000000000,"events":[
		{"name":"channel_occupied","channel":"presence-room"},
		{"name":"member_added","channel":"presence-room","user_id":"42"},
		{"name":"client_event","channel":"presence-room","event":"client-typing","data":"{}","socket_id":"1.2","user_id":"42"},
		{"name":"subscription_count","channel":"news","subscription_count":3},
		{"name":"cache_miss","channel":"cache-feed"}]}`)
	if code, msg := r.post(t, webhook.PusherPath, pusherHeaders(body), body); code != http.StatusOK {
		t.Fatalf("%d %s", code, msg)
	}
	if occ := r.occupied(t, "presence-room"); !occ["presence-room"] {
		t.Errorf("presence-room not occupied")
	}
	if m, _ := r.table.Members(context.Background(), "presence-room"); !slices.Equal(m, []string{"42"}) {
		t.Errorf("members = %v", m)
	}
	got := r.received(t)
	var types []string
	for _, e := range got {
		types = append(types, e.DetailType)
		if e.Source != "herald" || e.Detail.TimeMS != 1700000000000 || e.Detail.Provider != "pusher" {
			t.Errorf("event %+v", e)
		}
	}
	want := []string{"herald.cache_miss", "herald.channel_occupied", "herald.client_event", "herald.member_added", "herald.subscription_count"}
	if !slices.Equal(types, want) {
		t.Fatalf("detail-types %v, want %v", types, want)
	}
	if d := got[3].Detail; d.Channel != "presence-room" || d.UserID != "42" {
		t.Errorf("member_added detail %+v", d)
	}
	if d := got[2].Detail; d.Event != "client-typing" || d.SocketID != "1.2" {
		t.Errorf("client_event detail %+v", d)
	}

	// Pusher retries: the same request again changes nothing and puts
	// nothing on the bus.
	calls := r.bus.calls.Load()
	if code, _ := r.post(t, webhook.PusherPath, pusherHeaders(body), body); code != http.StatusOK {
		t.Fatalf("retry: %d", code)
	}
	if n := r.bus.calls.Load() - calls; n != 0 {
		t.Errorf("retry made %d PutEvents calls", n)
	}
	if again := r.received(t); len(again) != 0 {
		t.Errorf("retry forwarded %d events", len(again))
	}
}

// A late channel_vacated (older time_ms) arriving after a newer
// channel_occupied leaves the channel occupied.
func TestPusherWebhooksOutOfOrder(t *testing.T) {
	r := newRig(t, nil)
	newer := []byte(`{"time_ms":1700000002000,"events":[{"name":"channel_occupied","channel":"private-App.Models.User.2"}]}`)
	older := []byte(`{"time_ms":1700000001000,"events":[{"name":"channel_vacated","channel":"private-App.Models.User.2"}]}`)
	for _, b := range [][]byte{newer, older} {
		if code, msg := r.post(t, webhook.PusherPath, pusherHeaders(b), b); code != http.StatusOK {
			t.Fatalf("%d %s", code, msg)
		}
	}
	if !r.occupied(t, "private-App.Models.User.2")["private-App.Models.User.2"] {
		t.Errorf("a late channel_vacated overrode a newer channel_occupied")
	}
}

// Events go to the bus at most ten a PutEvents call.
func TestForwardBatchesOfTen(t *testing.T) {
	r := newRig(t, nil)
	var evs bytes.Buffer
	for i := range 25 {
		if i > 0 {
			evs.WriteString(",")
		}
		fmt.Fprintf(&evs, `{"name":"member_added","channel":"presence-room","user_id":"u%02d"}`, i)
	}
	body := []byte(`{"time_ms":1700000000000,"events":[` + evs.String() + `]}`)
	if code, msg := r.post(t, webhook.PusherPath, pusherHeaders(body), body); code != http.StatusOK {
		t.Fatalf("%d %s", code, msg)
	}
	if n := r.bus.calls.Load(); n != 3 {
		t.Errorf("%d PutEvents calls for 25 events, want 3", n)
	}
	if got := r.received(t); len(got) != 25 {
		t.Errorf("%d events on the bus, want 25", len(got))
	}
	if m, _ := r.table.Members(context.Background(), "presence-room"); len(m) != 25 {
		t.Errorf("%d members, want 25", len(m))
	}
}

// The sample is a batched, enveloped Ably webhook as Ably documents it.
func TestAblySampleWebhook(t *testing.T) {
	r := newRig(t, nil)
	body, err := os.ReadFile("testdata/ably-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := r.post(t, webhook.AblyPath, ablyHeaders(body), body); code != http.StatusOK {
		t.Fatalf("%d %s", code, msg)
	}
	const ch = "presence-education-channel" // presence:education-channel through the adapter
	if !r.occupied(t, ch)[ch] {
		t.Errorf("%s not occupied after channel.opened", ch)
	}
	if m, _ := r.table.Members(context.Background(), ch); !slices.Equal(m, []string{"bob"}) {
		t.Errorf("members = %v, want [bob] (alice only updated)", m)
	}
	got := r.received(t)
	if len(got) != 2 || got[0].DetailType != "herald.channel_occupied" || got[1].DetailType != "herald.member_added" {
		t.Fatalf("events %+v", got)
	}
	if d := got[1].Detail; d.Channel != ch || d.UserID != "bob" || d.TimeMS != 1562124922427 || d.Provider != "ably" {
		t.Errorf("member_added detail %+v", d)
	}

	// A later channel.closed and a leave, then the sample again (a retry
	// arriving late): the table stays as the newer events left it.
	later := []byte(`{"items":[
		{"webhookId":"ABcDEf","source":"channel.presence","serial":"x:7","timestamp":1562124930000,"name":"presence.message",
		 "data":{"channelId":"presence:education-channel","site":"eu-west-1-A","presence":[{"id":"ABcDefgHIj:2:0","clientId":"bob","connectionId":"ABcDefgHIj","timestamp":1562124930000,"action":3}]}},
		{"webhookId":"ABcDEf","source":"channel.lifecycle","serial":"x:8","timestamp":1562124930001,"name":"channel.closed",
		 "data":{"channelId":"presence:education-channel","name":"presence:education-channel","status":{"isActive":false,"occupancy":{"metrics":{"connections":0,"subscribers":0}}}}}]}`)
	if code, msg := r.post(t, webhook.AblyPath, ablyHeaders(later), later); code != http.StatusOK {
		t.Fatalf("%d %s", code, msg)
	}
	if code, _ := r.post(t, webhook.AblyPath, ablyHeaders(body), body); code != http.StatusOK {
		t.Fatalf("retry: %d", code)
	}
	if r.occupied(t, ch)[ch] {
		t.Errorf("%s occupied after channel.closed", ch)
	}
	if m, _ := r.table.Members(context.Background(), ch); len(m) != 0 {
		t.Errorf("members = %v after bob left", m)
	}
}

// Refused requests answer 401 or 400 and store nothing.
func TestRefusals(t *testing.T) {
	r := newRig(t, nil)
	good := []byte(`{"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"news"}]}`)
	ably, _ := os.ReadFile("testdata/ably-batch.json")
	cases := []struct {
		name   string
		path   string
		header map[string]string
		body   []byte
		want   int
	}{
		{"pusher: bad signature", webhook.PusherPath, map[string]string{"X-Pusher-Key": pusherKey, "X-Pusher-Signature": signature.Webhook("wrong", good)}, good, 401},
		{"pusher: unknown key", webhook.PusherPath, map[string]string{"X-Pusher-Key": "other", "X-Pusher-Signature": signature.Webhook(pusherSecret, good)}, good, 401},
		{"pusher: unsigned", webhook.PusherPath, nil, good, 401},
		{"pusher: not JSON", webhook.PusherPath, nil, []byte(`{"time_ms":`), 400},
		{"pusher: no time_ms", webhook.PusherPath, nil, []byte(`{"events":[{"name":"channel_occupied","channel":"news"}]}`), 400},
		{"pusher: bad channel", webhook.PusherPath, nil, []byte(`{"time_ms":1,"events":[{"name":"channel_occupied","channel":"a b"}]}`), 400},
		{"pusher: member without user", webhook.PusherPath, nil, []byte(`{"time_ms":1,"events":[{"name":"member_added","channel":"presence-x"}]}`), 400},
		{"ably: bad signature", webhook.AblyPath, map[string]string{"X-Ably-Key": "appId.keyId", "X-Ably-Signature": signature.AblyWebhook("wrong", ably)}, ably, 401},
		{"ably: whole key as HMAC key", webhook.AblyPath, map[string]string{"X-Ably-Key": "appId.keyId", "X-Ably-Signature": signature.AblyWebhook(ablyKey, ably)}, ably, 401},
		{"ably: unknown key", webhook.AblyPath, map[string]string{"X-Ably-Key": "appId.other", "X-Ably-Signature": signature.AblyWebhook("ablySecretPart", ably)}, ably, 401},
		{"ably: unsigned", webhook.AblyPath, map[string]string{}, ably, 401},
		{"ably: not enveloped", webhook.AblyPath, nil, []byte(`{"source":"channel.presence"}`), 400},
		{"ably: presence without action", webhook.AblyPath, nil, []byte(`{"items":[{"source":"channel.presence","timestamp":1,"data":{"channelId":"presence:x","presence":[{"clientId":"bob"}]}}]}`), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.header
			if h == nil && c.path == webhook.PusherPath {
				if c.want == 400 {
					h = pusherHeaders(c.body)
				}
			} else if h == nil {
				h = ablyHeaders(c.body)
			}
			if code, msg := r.post(t, c.path, h, c.body); code != c.want {
				t.Errorf("%d %s, want %d", code, msg, c.want)
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // no event is on its way either
	if got := r.received(t); len(got) != 0 {
		t.Errorf("refused requests forwarded %+v", got)
	}
	if occ := r.occupied(t, "news", "presence-education-channel"); len(occ) != 0 {
		t.Errorf("refused requests stored %v", occ)
	}
}

func TestFromEnv(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PRESENCE_TABLE": "t1"}, "no provider"},
		{map[string]string{"PUSHER_APP_KEY": "k", "PRESENCE_TABLE": "t1"}, "PUSHER_APP_SECRET"},
		{map[string]string{"ABLY_KEY": "nocolon", "PRESENCE_TABLE": "t1"}, "ABLY_KEY"},
		{map[string]string{"PUSHER_APP_KEY": "k", "PUSHER_APP_SECRET": "s"}, "PRESENCE_TABLE"},
	} {
		_, err := webhook.FromEnv(ctx, config.Map(c.env), webhook.Deps{})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%v: error %v, want one naming %s", c.env, err, c.want)
		}
	}
	// A route whose provider is not configured does not exist.
	h, err := webhook.FromEnv(ctx, config.Map(map[string]string{"PUSHER_APP_KEY": "k", "PUSHER_APP_SECRET": "s"}), webhook.Deps{Table: unusedTable{t}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, webhook.AblyPath, bytes.NewReader([]byte(`{}`))))
	if w.Code != http.StatusNotFound {
		t.Errorf("ably route without ABLY_KEY: %d", w.Code)
	}
}

// TestWebhooksReceivedMetric: a verified request counts once in the
// invocation's metrics; a refused one does not.
func TestWebhooksReceivedMetric(t *testing.T) {
	r := newRig(t, nil)
	body := []byte(`{"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"metrics-news"}]}`)
	for _, c := range []struct {
		header map[string]string
		want   float64
	}{
		{pusherHeaders(body), 1},
		{map[string]string{"X-Pusher-Key": pusherKey, "X-Pusher-Signature": signature.Webhook("wrong", body)}, 0},
	} {
		rec := metrics.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, webhook.PusherPath, bytes.NewReader(body))
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		r.h.ServeHTTP(w, req.WithContext(metrics.NewContext(req.Context(), rec)))
		if got := rec.Count(metrics.WebhooksReceived); got != c.want {
			t.Errorf("answer %d: WebhooksReceived = %v, want %v", w.Code, got, c.want)
		}
	}
}
