package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/coder/websocket"

	"github.com/heraldrt/herald/infra/server"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/presence"
	"github.com/heraldrt/herald/shared/signature"
)

const userPrefix = "private-App.Models.User."

// countingDynamo is moto's DynamoDB, counting BatchGetItem calls.
type countingDynamo struct {
	*dynamodb.Client
	batchGets atomic.Int32
}

func (c *countingDynamo) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.batchGets.Add(1)
	return c.Client.BatchGetItem(ctx, in, optFns...)
}

// presenceTable is a presence table in moto where the given users'
// channels are occupied.
func presenceTable(t *testing.T, occupied ...int) (*presence.Table, *countingDynamo) {
	t.Helper()
	db := &countingDynamo{Client: dynamodb.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))}
	name := testkit.UniqueName(t, "presence")
	if _, err := db.CreateTable(t.Context(), presence.CreateInput(name)); err != nil {
		t.Fatal(err)
	}
	tbl, err := presence.New(presence.Config{Name: name}, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range occupied {
		if _, err := tbl.Apply(t.Context(), presence.Event{Name: presence.ChannelOccupied, Channel: fmt.Sprint(userPrefix, u), Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return tbl, db
}

// fallbackQueue is an SQS fallback in moto and its client.
func fallbackQueue(t *testing.T) (*delivery.SQSFallback, *sqs.Client) {
	client := sqs.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))
	return &delivery.SQSFallback{API: client, QueueURL: testkit.Queue(t, client, "fallback")}, client
}

func undelivered(t *testing.T, client *sqs.Client, url string) []delivery.UndeliveredBody {
	t.Helper()
	var out []delivery.UndeliveredBody
	for _, m := range testkit.ReceiveAll(t, client, url) {
		var b delivery.UndeliveredBody
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &b); err != nil {
			t.Fatalf("fallback body %s: %v", aws.ToString(m.Body), err)
		}
		if a := m.MessageAttributes["event"]; a.StringValue == nil || *a.StringValue != delivery.UndeliveredEvent {
			t.Errorf("fallback message attributes %v", m.MessageAttributes)
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b delivery.UndeliveredBody) int { return strings.Compare(a.Envelope.ID, b.Envelope.ID) })
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func envelope(id, unoccupied string, users ...int) []byte {
	chans := make([]string, len(users))
	for i, u := range users {
		chans[i] = fmt.Sprint(userPrefix, u)
	}
	b, _ := json.Marshal(map[string]any{"name": "EmailSent", "channels": chans, "data": map[string]string{"subject": id}, "id": id, "unoccupied": unoccupied})
	return b
}

func pusherDriver(t *testing.T, api *testkit.PusherAPI) broadcast.Driver {
	p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sent lists the channels the stand-in received each event id on.
func sent(api *testkit.PusherAPI) map[string][]string {
	out := map[string][]string{}
	for _, e := range api.Events() {
		var d map[string]string
		json.Unmarshal([]byte(e.Data), &d)
		out[d["subject"]] = append(out[d["subject"]], e.Channels...)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// Users 1 and 3 are online: skip leaves the others out, fallback sends
// them to the fallback queue, send (and no field) sends to all.
func TestUnoccupiedWithThePresenceTable(t *testing.T) {
	tbl, _ := presenceTable(t, 1, 3)
	fb, sqsClient := fallbackQueue(t)
	api := testkit.NewPusherAPI(t, appID, key, secret)
	tr := &delivery.Trigger{Driver: pusherDriver(t, api), Log: quiet(), Unoccupied: &delivery.Unoccupied{Occupancy: tbl, Fallback: fb, Log: quiet()}}
	items := []delivery.Item{
		{ID: "a", Body: envelope("skip-some", "skip", 1, 2)},
		{ID: "b", Body: envelope("skip-all", "skip", 2)},
		{ID: "c", Body: envelope("fallback-some", "fallback", 2, 3, 4)},
		{ID: "d", Body: envelope("fallback-none", "fallback", 1)},
		{ID: "e", Body: envelope("send", "send", 2)},
		{ID: "f", Body: envelope("default", "", 4)},
	}
	res, err := tr.Run(t.Context(), items)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != delivery.Delivered || r.Failed {
			t.Errorf("item %s: %v %s", items[i].ID, r.Status, r.Reason)
		}
	}
	want := map[string][]string{
		"skip-some":     {userPrefix + "1"},
		"fallback-some": {userPrefix + "3"},
		"fallback-none": {userPrefix + "1"},
		"send":          {userPrefix + "2"},
		"default":       {userPrefix + "4"},
	}
	if got := sent(api); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("broadcast\n got %v\nwant %v", got, want)
	}
	got := undelivered(t, sqsClient, fb.QueueURL)
	if len(got) != 1 {
		t.Fatalf("fallbacks %+v, want one", got)
	}
	u := got[0]
	if u.Event != "BroadcastUndelivered" || u.Envelope.ID != "fallback-some" || fmt.Sprint(u.Channels) != fmt.Sprint([]string{userPrefix + "2", userPrefix + "4"}) ||
		len(u.Envelope.Channels) != 3 || u.Envelope.Name != "EmailSent" || u.Envelope.Unoccupied != "fallback" {
		t.Errorf("fallback %+v", u)
	}
}

// What cannot be decided is poison, naming the variable to set; an
// occupancy that cannot be read is retried; nothing of those items is
// sent.
func TestUnoccupiedFailures(t *testing.T) {
	tbl, _ := presenceTable(t)
	api := testkit.NewPusherAPI(t, appID, key, secret)
	for _, c := range []struct {
		name   string
		u      *delivery.Unoccupied
		env    []byte
		status delivery.Status
		reason string
	}{
		{"no occupancy", nil, envelope("x", "skip", 1), delivery.Poison, "PRESENCE_TABLE"},
		{"no fallback", &delivery.Unoccupied{Occupancy: tbl}, envelope("x", "fallback", 1), delivery.Poison, "BROADCAST_FALLBACK_URL"},
		{"occupancy down", &delivery.Unoccupied{Occupancy: brokenOccupancy{}}, envelope("x", "skip", 1), delivery.Retry, "occupancy"},
		{"bad value", nil, envelope("x", "drop", 1), delivery.Poison, "unoccupied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api.Reset()
			tr := &delivery.Trigger{Driver: pusherDriver(t, api), Log: quiet(), Unoccupied: c.u}
			res, _ := tr.Run(t.Context(), []delivery.Item{{ID: "1", Body: c.env}, {ID: "2", Body: envelope("other", "", 5)}})
			if res[0].Status != c.status || !strings.Contains(res[0].Reason, c.reason) {
				t.Errorf("item: %v %q, want %v naming %s", res[0].Status, res[0].Reason, c.status, c.reason)
			}
			if res[1].Status != delivery.Delivered {
				t.Errorf("the other item: %v %s", res[1].Status, res[1].Reason)
			}
			if got := sent(api); len(got) != 1 || got["other"] == nil {
				t.Errorf("broadcast %v, want the other item's alone", got)
			}
		})
	}
}

type brokenOccupancy struct{}

func (brokenOccupancy) Occupied(context.Context, []string) (map[string]bool, error) {
	return nil, fmt.Errorf("table unreachable")
}

// countingTransport counts the channel queries that reach the provider.
type countingTransport struct {
	queries atomic.Int32
	next    http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/channels") {
		c.queries.Add(1)
	}
	return c.next.RoundTrip(r)
}

// embedded is the embedded Pusher-compatible server with subscribers on
// the given channels.
func embedded(t *testing.T, channels ...string) string {
	t.Helper()
	srv, err := server.New(server.Config{Apps: []server.App{{ID: appID, Key: key, Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	l := testkit.Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	for _, ch := range channels {
		ws, _, err := websocket.Dial(t.Context(), "ws://"+l.Addr().String()+"/app/"+key+"?protocol=7", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		var est struct{ Data string }
		_, b, _ := ws.Read(t.Context())
		json.Unmarshal(b, &est)
		var conn struct {
			SocketID string `json:"socket_id"`
		}
		json.Unmarshal([]byte(est.Data), &conn)
		msg, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{
			"channel": ch, "auth": signature.ChannelAuth(key, secret, conn.SocketID, ch, ""),
		}})
		ws.Write(t.Context(), websocket.MessageText, msg)
		if _, b, err := ws.Read(t.Context()); err != nil || !strings.Contains(string(b), "subscription_succeeded") {
			t.Fatalf("subscribing to %s: %s %v", ch, b, err)
		}
	}
	return l.Addr().String()
}

// batch is n items, each an envelope with "unoccupied" to one user's
// channel, spread over prefixes model channel prefixes.
func batch(n, prefixes int, mode string) []delivery.Item {
	items := make([]delivery.Item, n)
	for i := range items {
		ch := fmt.Sprintf("private-App.Models.Kind%d.%d", i%prefixes, i)
		b, _ := json.Marshal(map[string]any{"name": "EmailSent", "channel": ch, "data": map[string]string{"subject": fmt.Sprint(i)}, "unoccupied": mode})
		items[i] = delivery.Item{ID: fmt.Sprint(i), Body: b}
	}
	return items
}

// The cost of "unoccupied" on a 1,000-message batch: with the presence
// table no provider query at all (ten BatchGetItem calls of 100 channels);
// without it one channel query per distinct prefix, whatever the number of
// messages.
func TestUnoccupiedCost(t *testing.T) {
	const n = 1000
	subscribed := []string{"private-App.Models.Kind0.0", "private-App.Models.Kind1.1", "private-App.Models.Kind2.2"}
	addr := embedded(t, subscribed...)
	host, port, _ := strings.Cut(addr, ":")
	var portN int
	fmt.Sscan(port, &portN)
	counter := &countingTransport{next: http.DefaultTransport}
	cfg := broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: host, Port: portN, Scheme: "http", HTTPClient: &http.Client{Transport: counter, Timeout: 10 * time.Second}}
	driver, err := broadcast.NewPusher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lister := delivery.QueriedChannels{Querier: driver}

	t.Run("presence table", func(t *testing.T) {
		tbl, db := presenceTable(t)
		for _, ch := range subscribed {
			tbl.Apply(t.Context(), presence.Event{Name: presence.ChannelOccupied, Channel: ch, Time: time.Now()})
		}
		counter.queries.Store(0)
		fb, _ := fallbackQueue(t)
		tr := &delivery.Trigger{Driver: driver, Log: quiet(), Unoccupied: &delivery.Unoccupied{Occupancy: tbl, Fallback: fb, Log: quiet()}}
		res, err := tr.Run(t.Context(), batch(n, 3, "skip"))
		if err != nil {
			t.Fatal(err)
		}
		checkDelivered(t, res)
		if q := counter.queries.Load(); q != 0 {
			t.Errorf("%d provider channel queries with the presence table, want 0", q)
		}
		if g := db.batchGets.Load(); g != n/100 {
			t.Errorf("%d BatchGetItem calls for %d channels, want %d", g, n, n/100)
		}
		t.Logf("%d messages, unoccupied skip, presence table: 0 provider queries, %d BatchGetItem", n, db.batchGets.Load())
	})
	for _, prefixes := range []int{1, 3} {
		t.Run(fmt.Sprintf("channel queries, %d prefixes", prefixes), func(t *testing.T) {
			counter.queries.Store(0)
			fb, sqsClient := fallbackQueue(t)
			tr := &delivery.Trigger{Driver: driver, Log: quiet(), Unoccupied: &delivery.Unoccupied{Occupancy: delivery.ListedOccupancy{Lister: lister}, Fallback: fb, Log: quiet()}}
			res, err := tr.Run(t.Context(), batch(n, prefixes, "fallback"))
			if err != nil {
				t.Fatal(err)
			}
			checkDelivered(t, res)
			if q := counter.queries.Load(); q != int32(prefixes) {
				t.Errorf("%d channel queries for %d messages over %d prefixes, want %d", q, n, prefixes, prefixes)
			}
			occupied := 1
			if prefixes == 3 {
				occupied = 3
			}
			// Counted, not received: receiving a thousand messages from
			// moto can outlast their visibility timeout.
			a, err := sqsClient.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(fb.QueueURL),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Attributes["ApproximateNumberOfMessages"]; got != fmt.Sprint(n-occupied) {
				t.Errorf("%s fallbacks, want %d", got, n-occupied)
			}
			t.Logf("%d messages over %d prefixes, unoccupied fallback, no presence table: %d provider channel queries", n, prefixes, counter.queries.Load())
		})
	}
}

func checkDelivered(t *testing.T, res []delivery.Result) {
	t.Helper()
	for i, r := range res {
		if r.Status != delivery.Delivered {
			t.Fatalf("item %d: %v %s", i, r.Status, r.Reason)
		}
	}
}

func TestPrefix(t *testing.T) {
	for ch, want := range map[string]string{
		"private-App.Models.User.42": "private-App.Models.User.",
		"presence-online":            "presence-",
		"private-orders":             "private-",
		"news":                       "",
		"presence-chat.room.1":       "presence-chat.room.",
	} {
		if got := delivery.Prefix(ch); got != want {
			t.Errorf("Prefix(%q) = %q, want %q", ch, got, want)
		}
	}
}

// An EventBridge bus as the fallback: BroadcastUndelivered events, ten a
// call, reach a rule's target.
func TestBusFallback(t *testing.T) {
	cfg := testkit.AWSConfig(testkit.Moto(t))
	eb := eventbridge.NewFromConfig(cfg)
	sqsClient := sqs.NewFromConfig(cfg)
	bus := testkit.UniqueName(t, "bus")
	out, err := eb.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
	if err != nil {
		t.Fatal(err)
	}
	q := testkit.Queue(t, sqsClient, "target")
	attrs, _ := sqsClient.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if _, err := eb.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String(bus), EventBusName: aws.String(bus), EventPattern: aws.String(`{"detail-type":["BroadcastUndelivered"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String(bus), EventBusName: aws.String(bus), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BROADCAST_FALLBACK_URL": aws.ToString(out.EventBusArn), "AWS_REGION": cfg.Region, "AWS_ENDPOINT_URL": *cfg.BaseEndpoint, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
	fb, err := delivery.FallbackFromEnv(config.Map(env))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fb.(*delivery.BusFallback); !ok {
		t.Fatalf("FallbackFromEnv(bus ARN) = %T", fb)
	}
	tbl, _ := presenceTable(t)
	api := testkit.NewPusherAPI(t, appID, key, secret)
	tr := &delivery.Trigger{Driver: pusherDriver(t, api), Log: quiet(), Unoccupied: &delivery.Unoccupied{Occupancy: tbl, Fallback: fb}}
	var items []delivery.Item
	for i := range 12 {
		items = append(items, delivery.Item{ID: fmt.Sprint(i), Body: envelope(fmt.Sprint("e", i), "fallback", i)})
	}
	res, err := tr.Run(t.Context(), items)
	if err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, res)
	msgs := testkit.ReceiveAll(t, sqsClient, q)
	if len(msgs) != 12 {
		t.Fatalf("%d events reached the rule's target, want 12", len(msgs))
	}
	var ev struct {
		DetailType string                   `json:"detail-type"`
		Detail     delivery.UndeliveredBody `json:"detail"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &ev); err != nil || ev.DetailType != "BroadcastUndelivered" || len(ev.Detail.Channels) != 1 {
		t.Errorf("event %s: %v", aws.ToString(msgs[0].Body), err)
	}
}

func TestFallbackFromEnv(t *testing.T) {
	base := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
	for dest, want := range map[string]string{
		"": "<nil>",
		"https://sqs.eu-west-1.amazonaws.com/123456789012/herald-fallback": "*delivery.SQSFallback",
		"arn:aws:events:eu-west-1:123456789012:event-bus/herald":           "*delivery.BusFallback",
		"arn:aws:sqs:eu-west-1:123456789012:herald-fallback":               "error",
		"herald-fallback": "error",
	} {
		env := map[string]string{"BROADCAST_FALLBACK_URL": dest}
		for k, v := range base {
			env[k] = v
		}
		fb, err := delivery.FallbackFromEnv(config.Map(env))
		got := fmt.Sprintf("%T", fb)
		if fb == nil {
			got = "<nil>"
		}
		if err != nil {
			got = "error"
			if !strings.Contains(err.Error(), "BROADCAST_FALLBACK_URL") {
				t.Errorf("%q: error %v does not name BROADCAST_FALLBACK_URL", dest, err)
			}
		}
		if got != want {
			t.Errorf("FallbackFromEnv(%q) = %s, want %s", dest, got, want)
		}
	}
}
