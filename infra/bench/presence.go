package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/coder/websocket"

	"github.com/heraldrt/herald/infra/moto"
	embedded "github.com/heraldrt/herald/infra/server"
	"github.com/heraldrt/herald/shared/broadcast"
	heralddelivery "github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/presence"
	"github.com/heraldrt/herald/shared/signature"
)

// presenceBatch is the batch size the presence part measures.
const presenceBatch = 1000

// presenceResult is what one "unoccupied" delivery of a batch cost.
type presenceResult struct {
	Source   string // "presence table" or "channel queries"
	Mode     string // the envelopes' "unoccupied"
	N        int
	Prefixes int // distinct channel prefixes in the batch
	// Queries are the channel queries that reached the provider; Reads the
	// presence table's BatchGetItem calls.
	Queries, Reads int
	// Sent are the messages broadcast, Fallbacks those sent to the
	// fallback queue instead.
	Sent, Fallbacks int
	Wall            time.Duration
}

// countingRT counts the provider's channel queries and broadcast calls.
type countingRT struct {
	queries, broadcasts atomic.Int32
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/channels"):
		c.queries.Add(1)
	case r.Method == http.MethodPost:
		c.broadcasts.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// countingReads counts the presence table's BatchGetItem calls.
type countingReads struct {
	*dynamodb.Client
	n atomic.Int32
}

func (c *countingReads) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.n.Add(1)
	return c.Client.BatchGetItem(ctx, in, optFns...)
}

// runPresence delivers a 1,000-message batch whose envelopes set
// "unoccupied", through the real delivery path against the embedded
// Pusher-compatible server (a tenth of the channels subscribed) and moto,
// and counts the provider calls occupancy costs: with the presence table,
// and with Pusher's channel queries over one and three prefixes.
func runPresence(ctx context.Context, env *benchEnv) ([]presenceResult, error) {
	m, err := moto.Start(ctx, moto.Config{Addr: "127.0.0.1:0", Dir: env.root})
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	defer m.Stop()
	awsCfg := aws.Config{Region: moto.Region, BaseEndpoint: aws.String(m.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(moto.AccessKeyID, moto.SecretAccessKey, "")}
	db := &countingReads{Client: dynamodb.NewFromConfig(awsCfg)}
	if _, err := db.CreateTable(ctx, presence.CreateInput("Presence")); err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	table, err := presence.New(presence.Config{Name: "Presence"}, db)
	if err != nil {
		return nil, err
	}
	sqsClient := sqs.NewFromConfig(awsCfg)
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("herald-fallback")})
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	fallback := &heralddelivery.SQSFallback{API: sqsClient, QueueURL: aws.ToString(q.QueueUrl)}

	srv, err := embedded.New(embedded.Config{Apps: []embedded.App{{ID: benchAppID, Key: benchKey, Secret: benchSecret}}})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go srv.Serve(sctx, l)
	// A tenth of the users are online, on each prefix.
	var subscribed []string
	for i := 0; i < presenceBatch; i += 10 {
		subscribed = append(subscribed, channelOf(i, 3))
		subscribed = append(subscribed, channelOf(i, 1))
	}
	for _, ch := range subscribed {
		ws, err := subscribeTo(sctx, l.Addr().String(), ch)
		if err != nil {
			return nil, fmt.Errorf("presence: subscribing %s: %w", ch, err)
		}
		defer ws.CloseNow()
		if _, err := table.Apply(ctx, presence.Event{Name: presence.ChannelOccupied, Channel: ch, Time: time.Now()}); err != nil {
			return nil, err
		}
	}
	host, port, _ := splitHostPort(l.Addr().String())
	rt := &countingRT{}
	pcfg := broadcast.PusherConfig{AppID: benchAppID, Key: benchKey, Secret: benchSecret, Host: host, Port: port, Scheme: "http",
		HTTPClient: &http.Client{Transport: rt, Timeout: 10 * time.Second}}
	driver, err := broadcast.NewPusher(pcfg)
	if err != nil {
		return nil, err
	}
	lister := heralddelivery.QueriedChannels{Querier: driver}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out []presenceResult
	for _, run := range []struct {
		source    string
		occupancy heralddelivery.Occupancy
		prefixes  int
	}{
		{"presence table", table, 3},
		{"channel queries", heralddelivery.ListedOccupancy{Lister: lister}, 1},
		{"channel queries", heralddelivery.ListedOccupancy{Lister: lister}, 3},
	} {
		rt.queries.Store(0)
		rt.broadcasts.Store(0)
		db.n.Store(0)
		tr := &heralddelivery.Trigger{Driver: driver, Log: quiet, Unoccupied: &heralddelivery.Unoccupied{Occupancy: run.occupancy, Fallback: fallback, Log: quiet}}
		items := make([]heralddelivery.Item, presenceBatch)
		for i := range items {
			b, _ := json.Marshal(map[string]any{"name": "EmailSent", "channel": channelOf(i, run.prefixes), "data": map[string]int{"n": i}, "unoccupied": "fallback"})
			items[i] = heralddelivery.Item{ID: strconv.Itoa(i), Body: b}
		}
		start := time.Now()
		res, err := tr.Run(ctx, items)
		wall := time.Since(start)
		if err != nil {
			return nil, err
		}
		for i, r := range res {
			if r.Status != heralddelivery.Delivered {
				return nil, fmt.Errorf("presence: item %d: %v %s", i, r.Status, r.Reason)
			}
		}
		fallbacks, err := drain(ctx, sqsClient, aws.ToString(q.QueueUrl))
		if err != nil {
			return nil, err
		}
		r := presenceResult{Source: run.source, Mode: "fallback", N: presenceBatch, Prefixes: run.prefixes,
			Queries: int(rt.queries.Load()), Reads: int(db.n.Load()), Sent: presenceBatch - fallbacks, Fallbacks: fallbacks, Wall: wall}
		env.progress("presence  %-15s N=%d over %d prefixes: %d channel queries, %d table reads, %d sent, %d fallbacks, %.1f ms",
			r.Source, r.N, r.Prefixes, r.Queries, r.Reads, r.Sent, r.Fallbacks, ms(r.Wall))
		out = append(out, r)
	}
	return out, nil
}

// channelOf is user i's channel, on one of prefixes model channel prefixes.
func channelOf(i, prefixes int) string {
	return fmt.Sprintf("private-App.Models.Kind%d.%d", i%prefixes, i)
}

func subscribeTo(ctx context.Context, addr, ch string) (*websocket.Conn, error) {
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/app/"+benchKey+"?protocol=7", nil)
	if err != nil {
		return nil, err
	}
	_, b, err := ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	var est struct{ Data string }
	json.Unmarshal(b, &est)
	var conn struct {
		SocketID string `json:"socket_id"`
	}
	json.Unmarshal([]byte(est.Data), &conn)
	msg, _ := json.Marshal(map[string]any{"event": "pusher:subscribe", "data": map[string]string{
		"channel": ch, "auth": signature.ChannelAuth(benchKey, benchSecret, conn.SocketID, ch, ""),
	}})
	if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, err
	}
	if _, b, err = ws.Read(ctx); err != nil || !strings.Contains(string(b), "subscription_succeeded") {
		return nil, fmt.Errorf("%s %v", b, err)
	}
	return ws, nil
}

// drain receives and deletes what the queue holds and counts it.
func drain(ctx context.Context, c *sqs.Client, url string) (int, error) {
	n := 0
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			return n, err
		}
		if len(out.Messages) == 0 {
			return n, nil
		}
		for _, m := range out.Messages {
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return n, err
			}
			n++
		}
	}
}

func (r *report) presenceTable(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Presence-aware delivery: provider calls for a %d-message batch with \"unoccupied\"\n\n", presenceBatch)
	b.WriteString("Every envelope sets \"unoccupied\": \"fallback\", each on its own user channel; a tenth of the users are online. The real delivery path " +
		"(shared/delivery) against the embedded Pusher-compatible server and moto: occupancy from the presence table (kept by the webhooks), or from " +
		"Pusher's channel queries (GET /channels?filter_by_prefix=...) when there is none. Broadcasts are not counted here.\n\n")
	b.WriteString("| occupancy from | prefixes | channel queries | table reads (BatchGetItem) | sent | fallbacks | wall ms | target | result |\n|---|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, p := range r.presence {
		target, limit := "0 channel queries", 0
		if p.Source != "presence table" {
			target, limit = fmt.Sprintf("<= %d (one per prefix)", p.Prefixes), p.Prefixes
		}
		verdict := fmt.Sprintf("PASS (%d)", p.Queries)
		if p.Queries > limit {
			verdict = fmt.Sprintf("**MISS** (%d)", p.Queries)
		}
		r.judge(fmt.Sprintf("unoccupied, %s, %d prefixes: provider channel queries per %d messages", p.Source, p.Prefixes, p.N), target, verdict)
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d | %.1f | %s | %s |\n", p.Source, p.Prefixes, p.Queries, p.Reads, p.Sent, p.Fallbacks, ms(p.Wall), target, verdict)
	}
}
