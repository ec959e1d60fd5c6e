package app_test

import (
	"context"
	"encoding/json/jsontext"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/events/app"
)

// countingSQS counts the calls that reach the real client.
type countingSQS struct {
	*sqs.Client
	batches atomic.Int32
}

func (c *countingSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, o ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.batches.Add(1)
	if len(in.Entries) > 10 {
		return nil, errors.New("more than 10 entries")
	}
	return c.Client.SendMessageBatch(ctx, in, o...)
}

func TestSendBatchTenPerCall(t *testing.T) {
	url := newQueue("batch")
	client := &countingSQS{Client: sqs.NewFromConfig(awsCfg)}
	ts := make([]app.Trigger, 25)
	for i := range ts {
		ts[i] = app.Event{Name: "Ping", Channels: []string{"private-x"}, Data: i}
	}
	if err := errors.Join(app.Queue{SQS: client, URL: url}.SendBatch(context.Background(), ts)...); err != nil {
		t.Fatal(err)
	}
	if n := client.batches.Load(); n != 3 {
		t.Errorf("%d SendMessageBatch calls for 25 messages, want 3", n)
	}
	if got := len(receive(url)); got != 25 {
		t.Errorf("%d messages on the queue, want 25", got)
	}
}

func TestSizeLimit(t *testing.T) {
	url := newQueue("size")
	q := app.Queue{SQS: sqs.NewFromConfig(awsCfg), URL: url}
	// Validation allows this much data only with a raised limit.
	saved := app.Limits
	app.Limits.MaxDataBytes = 1 << 20
	defer func() { app.Limits = saved }()
	big := app.Event{Name: "Big", Channels: []string{"private-x"}, Data: strings.Repeat("x", 300<<10)}
	if err := q.Send(context.Background(), big); !errors.Is(err, app.ErrTooLarge) {
		t.Errorf("Send: %v, want ErrTooLarge", err)
	}
	errs := q.SendBatch(context.Background(), []app.Trigger{big, app.Event{Name: "Small", Channels: []string{"private-x"}, Data: 1}})
	if !errors.Is(errs[0], app.ErrTooLarge) || errs[1] != nil {
		t.Errorf("SendBatch: %v, want ErrTooLarge and nil", errs)
	}
	if got := len(receive(url)); got != 1 {
		t.Errorf("%d messages on the queue, want 1", got)
	}
}

func TestDataLimitIsTheFunctions(t *testing.T) {
	_, err := app.Event{Name: "Big", Channels: []string{"private-x"}, Data: strings.Repeat("x", 11000)}.Body()
	if !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), "data: is") {
		t.Errorf("Body: %v, want the data limit", err)
	}
}

func TestOutboxIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	db := dynamodb.NewFromConfig(awsCfg)
	users, outbox := newTable("Users", "id", true), newTable("Outbox", "pk", false)
	o := app.Outbox{DynamoDB: db, Table: outbox}
	ev := app.Event{Name: "UserRenamed", Channels: []string{"presence-online"}, Data: map[string]any{"big": jsontext.Value("123456789012345678901234567890")}}
	put := func(name string) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(users), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberN{Value: "7"}, "name": &types.AttributeValueMemberS{Value: name}}}}
	}
	if err := o.Write(ctx, "rename#1", ev, put("Alice")); err != nil {
		t.Fatal(err)
	}
	// The same outbox key again: the transaction fails, and the app's
	// write with it.
	if err := o.Write(ctx, "rename#1", ev, put("Mallory")); err == nil || !strings.Contains(err.Error(), "rename#1") {
		t.Fatalf("second Write: %v, want a failed transaction naming the key", err)
	}
	user, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(users), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberN{Value: "7"}}})
	if err != nil {
		t.Fatal(err)
	}
	if name := user.Item["name"].(*types.AttributeValueMemberS).Value; name != "Alice" {
		t.Errorf("user's name %q, want Alice (the failed transaction must not write it)", name)
	}
	row, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(outbox), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "rename#1"}}})
	if err != nil {
		t.Fatal(err)
	}
	data := row.Item["data"].(*types.AttributeValueMemberM).Value
	if n := data["big"].(*types.AttributeValueMemberN).Value; n != "123456789012345678901234567890" {
		t.Errorf("number stored as %s, want every digit", n)
	}
}
