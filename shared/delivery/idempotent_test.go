package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/idempotency"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/retry"
)

// Pusher's published example credentials.
const (
	appID  = "3"
	key    = "278d425bdf160c739803"
	secret = "7ad3773142a6692b25b8"
)

// dynamo is the stores' client, as GuardFromEnv builds it, for moto or
// for another endpoint (a proxy in front of it, a closed port).
func dynamo(t *testing.T, endpoint ...string) *dynamodb.Client {
	cfg := testkit.AWSConfig(testkit.Moto(t))
	if len(endpoint) > 0 {
		cfg.BaseEndpoint = aws.String(endpoint[0])
	}
	cfg.RetryMaxAttempts = 2
	return dynamodb.NewFromConfig(cfg)
}

// table creates an empty table shaped as template.yaml's IdempotencyTable.
func table(t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	name := testkit.UniqueName(t, "delivery")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("table %s: %v", name, err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expiration"), Enabled: aws.Bool(true)},
	})
	if err != nil {
		t.Fatalf("UpdateTimeToLive %s: %v", name, err)
	}
	return name
}

// throttling is a real HTTP server in front of moto that, while on,
// answers every PutItem as DynamoDB answers a throttled one.
type throttling struct {
	URL string
	on  atomic.Bool
}

func newThrottling(t *testing.T) *throttling {
	target, err := url.Parse(testkit.Moto(t).Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &throttling{}
	forward := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.on.Load() && r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.PutItem" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func store(t *testing.T, db idempotency.API, tableName string) *idempotency.Store {
	t.Helper()
	s, err := idempotency.New(idempotency.Config{Table: tableName}, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// invocation is a context shaped like a Lambda invocation's: it has a
// deadline, which claims expire at.
func invocation(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fixture is the real pusher driver, retried and deduplicated, in front of
// the Pusher API stand-in, with a store on moto.
type fixture struct {
	api    *testkit.PusherAPI
	db     idempotency.API
	table  string
	store  *idempotency.Store
	pusher broadcast.Driver // the provider's driver, unguarded
	driver broadcast.Driver
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := dynamo(t)
	f := &fixture{api: testkit.NewPusherAPI(t, appID, key, secret), db: db, table: table(t, db)}
	f.store = store(t, f.db, f.table)
	p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: f.api.Host(), Port: f.api.Port(), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	f.pusher = p
	f.driver = delivery.Guard(p, retry.Policy{Base: time.Millisecond, Cap: 5 * time.Millisecond, MaxAttempts: 2, SafetyMargin: 100 * time.Millisecond}, f.store, nil)
	return f
}

func body(id, channel string) []byte {
	return fmt.Appendf(nil, `{"name":"E","channel":%q,"data":{"n":1},"id":%q}`, channel, id)
}

func statuses(out []delivery.Outcome) []delivery.Status {
	s := make([]delivery.Status, len(out))
	for i, o := range out {
		s[i] = o.Status
	}
	return s
}

func wantStatuses(t *testing.T, out []delivery.Outcome, want ...delivery.Status) {
	t.Helper()
	got := statuses(out)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		for i, o := range out {
			t.Logf("item %d: %v %s", i, o.Status, o.Reason)
		}
		t.Fatalf("outcomes = %v, want %v", got, want)
	}
}

func TestIdempotent(t *testing.T) {
	t.Run("a redelivered message is a no-op", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		items := []delivery.Item{
			{ID: "m1", Body: body("ev-1", "orders")},
			// No envelope id: keyed by the trigger's identity, per envelope.
			{ID: "m2", Body: []byte(`{"batch":[{"name":"E","channel":"a","data":"x"},{"name":"E","channel":"b","data":"y"}]}`)},
		}
		wantStatuses(t, delivery.Deliver(invocation(t), f.driver, items), delivery.Delivered, delivery.Delivered)
		if n := len(f.api.Events()); n != 3 {
			t.Fatalf("first delivery: provider accepted %d events, want 3", n)
		}
		// The same messages again, as SQS redelivers them, plus one new.
		items = append(items, delivery.Item{ID: "m3", Body: body("ev-3", "orders")})
		rec := metrics.NewRecorder()
		wantStatuses(t, delivery.Deliver(metrics.NewContext(invocation(t), rec), f.driver, items), delivery.Delivered, delivery.Delivered, delivery.Delivered)
		if n := rec.Count(metrics.DuplicatesSuppressed); n != 3 {
			t.Errorf("DuplicatesSuppressed = %v, want the 3 messages already broadcast", n)
		}
		ev := f.api.Events()
		if len(ev) != 4 {
			t.Fatalf("after redelivery: provider accepted %d events, want 4 (only the new one)", len(ev))
		}
		if ev[3].Channels[0] != "orders" {
			t.Fatalf("the new event went to %v", ev[3].Channels)
		}
		// The same envelope id under another trigger identity is the same event.
		wantStatuses(t, delivery.Deliver(invocation(t), f.driver, []delivery.Item{{ID: "other", Body: body("ev-1", "orders")}}), delivery.Delivered)
		if n := len(f.api.Events()); n != 4 {
			t.Fatalf("a known envelope id was broadcast again: %d events", n)
		}
	})

	t.Run("an id in progress elsewhere is retried, not sent", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		other := store(t, f.db, f.table) // another invocation's process
		if st, err := other.Claim(invocation(t), []string{"busy"}); err != nil || st[0] != idempotency.Claimed {
			t.Fatalf("other claim: %v %v", st, err)
		}
		out := delivery.Deliver(invocation(t), f.driver, []delivery.Item{
			{ID: "m1", Body: body("busy", "a")},
			{ID: "m2", Body: body("free", "b")},
		})
		wantStatuses(t, out, delivery.Retry, delivery.Delivered)
		if !errors.Is(out[0].Err, delivery.ErrNotClaimed) || !broadcast.IsTemporary(out[0].Err) {
			t.Fatalf("in-progress error = %v, want a temporary ErrNotClaimed", out[0].Err)
		}
		if ev := f.api.Events(); len(ev) != 1 || ev[0].Channels[0] != "b" {
			t.Fatalf("provider accepted %v, want only the free message", ev)
		}
		// The holder finishes; the retry is then a no-op.
		if err := other.Complete(invocation(t), []string{"busy"}); err != nil {
			t.Fatal(err)
		}
		wantStatuses(t, delivery.Deliver(invocation(t), f.driver, []delivery.Item{{ID: "m1", Body: body("busy", "a")}}), delivery.Delivered)
		if n := len(f.api.Events()); n != 1 {
			t.Fatalf("a message completed elsewhere was sent: %d events", n)
		}
	})

	t.Run("a failed broadcast releases its id", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.api.SetFault(func(testkit.PusherRequest) testkit.Fault { return testkit.Fault{Status: 503} })
		items := []delivery.Item{{ID: "m1", Body: body("flaky", "a")}}
		out := delivery.Deliver(invocation(t), f.driver, items)
		wantStatuses(t, out, delivery.Retry)
		if n := len(f.api.Requests()); n != 2 {
			t.Fatalf("%d provider calls, want 2 (the policy's attempts)", n)
		}
		// Released, not merely expired: another process may claim it now.
		other := store(t, f.db, f.table)
		st, err := other.Claim(invocation(t), []string{"flaky"})
		if err != nil || st[0] != idempotency.Claimed {
			t.Fatalf("after the failure the id is %v (%v), want claimable", st, err)
		}
		if err := other.Release(invocation(t), []string{"flaky"}); err != nil {
			t.Fatal(err)
		}
		f.api.SetFault(nil)
		wantStatuses(t, delivery.Deliver(invocation(t), f.driver, items), delivery.Delivered)
		if n := len(f.api.Events()); n != 1 {
			t.Fatalf("provider accepted %d events, want 1", n)
		}
	})

	t.Run("a refused message is poison and releases its id", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.api.SetFault(testkit.FailChannel("bad", 400))
		out := delivery.Deliver(invocation(t), f.driver, []delivery.Item{{ID: "m1", Body: body("refused", "bad")}})
		wantStatuses(t, out, delivery.Poison)
		if n := len(f.api.Requests()); n != 1 {
			t.Fatalf("a permanent refusal was re-sent: %d calls", n)
		}
		st, err := store(t, f.db, f.table).Claim(invocation(t), []string{"refused"})
		if err != nil || st[0] != idempotency.Claimed {
			t.Fatalf("a refused message's id is %v (%v), want released", st, err)
		}
	})

	t.Run("the same id twice in one invocation is sent once", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		items := []delivery.Item{{ID: "m1", Body: body("twin", "a")}, {ID: "m2", Body: body("twin", "a")}}
		wantStatuses(t, delivery.Deliver(invocation(t), f.driver, items), delivery.Delivered, delivery.Retry)
		wantStatuses(t, delivery.Deliver(invocation(t), f.driver, items[1:]), delivery.Delivered)
		if n := len(f.api.Events()); n != 1 {
			t.Fatalf("provider accepted %d events, want 1", n)
		}
	})

	t.Run("an unreachable store sends nothing", func(t *testing.T) {
		t.Parallel()
		api := testkit.NewPusherAPI(t, appID, key, secret)
		p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
		if err != nil {
			t.Fatal(err)
		}
		down := store(t, dynamo(t, fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t))), "herald-idempotency")
		d := delivery.Guard(p, retry.Policy{}, down, nil)
		out := delivery.Deliver(invocation(t), d, []delivery.Item{{ID: "m1", Body: body("x", "a")}})
		wantStatuses(t, out, delivery.Retry)
		if !errors.Is(out[0].Err, delivery.ErrNotClaimed) {
			t.Fatalf("err = %v, want ErrNotClaimed", out[0].Err)
		}
		if n := len(api.Requests()); n != 0 {
			t.Fatalf("%d provider calls without a claim", n)
		}
	})

	t.Run("a throttled store sends nothing and loses nothing", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		proxy := newThrottling(t)
		proxy.on.Store(true)
		d := delivery.Guard(f.pusher, retry.Policy{}, store(t, dynamo(t, proxy.URL), f.table), nil)
		items := []delivery.Item{{ID: "m1", Body: body("throttled", "a")}}
		out := delivery.Deliver(invocation(t), d, items)
		wantStatuses(t, out, delivery.Retry)
		var e *idempotency.Error
		if !errors.Is(out[0].Err, delivery.ErrNotClaimed) || !errors.As(out[0].Err, &e) || !e.Temporary {
			t.Fatalf("err = %v, want ErrNotClaimed over a temporary store failure", out[0].Err)
		}
		if n := len(f.api.Requests()); n != 0 {
			t.Fatalf("%d provider calls without a claim", n)
		}
		// The throttling passes; the retry is sent, once.
		proxy.on.Store(false)
		wantStatuses(t, delivery.Deliver(invocation(t), d, items), delivery.Delivered)
		if n := len(f.api.Events()); n != 1 {
			t.Fatalf("provider accepted %d events, want 1", n)
		}
	})
}

func TestGuardFromEnv(t *testing.T) {
	env := map[string]string{}
	d, err := delivery.GuardFromEnv(t.Context(), broadcast.Null{}, config.Map(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(*retry.Driver); !ok {
		t.Fatalf("without a table the driver is %T, want *retry.Driver", d)
	}
	env["IDEMPOTENCY_TABLE"] = "herald-idempotency"
	if _, err := delivery.GuardFromEnv(t.Context(), broadcast.Null{}, config.Map(env), nil); err == nil || !strings.Contains(err.Error(), "IDEMPOTENCY_TABLE") {
		t.Fatalf("a table without AWS settings: err = %v, want one naming IDEMPOTENCY_TABLE", err)
	}
	// The store reaches DynamoDB where AWS_ENDPOINT_URL_DYNAMODB says, and
	// reads the table at start-up: a table that does not exist stops it
	// with an error naming the variable and the table.
	env["AWS_REGION"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = moto.Region, "test", "test"
	env["AWS_ENDPOINT_URL_DYNAMODB"] = testkit.Moto(t).Endpoint
	env["IDEMPOTENCY_TABLE"] = testkit.UniqueName(t, "missing")
	if _, err := delivery.GuardFromEnv(t.Context(), broadcast.Null{}, config.Map(env), nil); err == nil ||
		!strings.Contains(err.Error(), "IDEMPOTENCY_TABLE") || !strings.Contains(err.Error(), env["IDEMPOTENCY_TABLE"]) {
		t.Fatalf("a table that does not exist: err = %v, want one naming IDEMPOTENCY_TABLE and the table", err)
	}
	env["IDEMPOTENCY_TABLE"] = table(t, dynamo(t))
	if d, err = delivery.GuardFromEnv(t.Context(), broadcast.Null{}, config.Map(env), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(*delivery.Idempotent); !ok {
		t.Fatalf("with a table the driver is %T, want *delivery.Idempotent", d)
	}
	// A message delivered twice is broadcast once.
	api := testkit.NewPusherAPI(t, appID, key, secret)
	p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	if d, err = delivery.GuardFromEnv(t.Context(), p, config.Map(env), nil); err != nil {
		t.Fatal(err)
	}
	items := []delivery.Item{{ID: "m1", Body: body("env", "a")}}
	for range 2 {
		wantStatuses(t, delivery.Deliver(invocation(t), d, items), delivery.Delivered)
	}
	if n := len(api.Events()); n != 1 {
		t.Fatalf("provider accepted %d events, want 1", n)
	}
	for k, v := range map[string]string{"IDEMPOTENCY_TABLE": "a b", "IDEMPOTENCY_TTL": "soon", "BROADCAST_RETRY_MAX_ATTEMPTS": "0"} {
		if _, err := delivery.GuardFromEnv(t.Context(), broadcast.Null{}, config.Map(map[string]string{k: v}), nil); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: err = %v, want one naming it", k, v, err)
		}
	}
}
