package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/idempotency"
	"github.com/heraldrt/herald/shared/retry"
)

// TestHandleIdempotent runs the handler as the bootstrap wires it with
// IDEMPOTENCY_TABLE set (the pusher driver, retried and deduplicated,
// with a store on moto): a redelivered message is a no-op, a message
// whose key another invocation holds is a batch item failure and is not
// sent, and a failed broadcast releases its key for the redelivery.
func TestHandleIdempotent(t *testing.T) {
	awsCfg := testkit.AWSConfig(testkit.Moto(t))
	awsCfg.RetryMaxAttempts = 2
	// One client creates the table, as an operator would, and serves the
	// stores, as the bootstrap's does.
	db := dynamodb.NewFromConfig(awsCfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table := testkit.UniqueName(t, "queue")
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	newStore := func() *idempotency.Store {
		s, err := idempotency.New(idempotency.Config{Table: table}, db)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	api := testkit.NewPusherAPI(t, appID, key, secret)
	p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: api.Host(), Port: api.Port(), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	h := &queue.Handler{Driver: delivery.Guard(p, retry.Policy{Base: time.Millisecond, MaxAttempts: 2}, newStore(), nil), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	msg := func(id, channel string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, Body: fmt.Sprintf(`{"name":"E","channel":%q,"data":{}}`, channel)}
	}
	invoke := func(recs ...events.SQSMessage) []string {
		t.Helper()
		ictx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		resp, err := h.Handle(ictx, events.SQSEvent{Records: recs})
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		var failed []string
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		return failed
	}

	// Another invocation holds m2's key.
	other := newStore()
	if st, err := other.Claim(ctx, []string{"m2"}); err != nil || st[0] != idempotency.Claimed {
		t.Fatalf("claim elsewhere: %v %v", st, err)
	}
	if failed := invoke(msg("m1", "a"), msg("m2", "b")); fmt.Sprint(failed) != "[m2]" {
		t.Fatalf("batch item failures = %v, want [m2] (held elsewhere)", failed)
	}
	if ev := api.Events(); len(ev) != 1 || ev[0].Channels[0] != "a" {
		t.Fatalf("provider got %v, want m1's event only", ev)
	}

	// SQS redelivers m1 (a duplicate delivery) and m2 (its failure): m1 is
	// a no-op; m2 still waits for its holder.
	if failed := invoke(msg("m1", "a"), msg("m2", "b")); fmt.Sprint(failed) != "[m2]" {
		t.Fatalf("redelivery: batch item failures = %v, want [m2]", failed)
	}
	if n := len(api.Events()); n != 1 {
		t.Fatalf("a redelivered message was broadcast again: %d events", n)
	}
	// The holder's broadcast failed and it released the key.
	if err := other.Release(ctx, []string{"m2"}); err != nil {
		t.Fatal(err)
	}

	if failed := invoke(msg("m2", "b")); len(failed) != 0 {
		t.Fatalf("m2 after its holder released it: failures %v", failed)
	}

	// m3's broadcast fails (the whole batch: the handler errs, and SQS
	// redelivers it); its key is released, so the redelivery sends it.
	api.SetFault(testkit.FailChannel("c", 503))
	if _, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msg("m3", "c")}}); !errors.Is(err, queue.ErrNothingDelivered) {
		t.Fatalf("Handle with the provider failing: %v, want ErrNothingDelivered", err)
	}
	api.SetFault(nil)
	if failed := invoke(msg("m3", "c")); len(failed) != 0 {
		t.Fatalf("retry of a released key: failures %v", failed)
	}
	var channels []string
	for _, e := range api.Events() {
		channels = append(channels, e.Channels[0])
	}
	if fmt.Sprint(channels) != "[a b c]" {
		t.Fatalf("broadcast channels = %v, want each message once: [a b c]", channels)
	}
}
