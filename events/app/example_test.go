package app_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/events/app"
)

func ExampleEvent_Body() {
	body, err := app.Event{
		Name:     "EmailSent",
		Channels: []string{"private-App.Models.User.42"},
		Data:     map[string]string{"subject": "Welcome"},
		ID:       "email-7",
	}.Body()
	fmt.Println(string(body), err)

	// The functions' own validation, before anything is sent.
	_, err = app.Event{Name: "EmailSent", Channels: []string{"private-a b"}, Data: 1}.Body()
	fmt.Println(err)
	// Output:
	// {"name":"EmailSent","channels":["private-App.Models.User.42"],"data":{"subject":"Welcome"},"id":"email-7"} <nil>
	// event "EmailSent": channels[0]: "private-a b": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;
}

func ExampleNotification_Body() {
	body, err := app.Notification{
		ID:           "9f1c2d3e-0000-4000-8000-000000000001",
		Type:         `App\Notifications\EmailSent`,
		NotifiableID: 42,
		Data:         map[string]string{"subject": "Welcome"},
	}.Body()
	fmt.Println(string(body), err)

	// The user may have no tab open: the app's fallback queue then gets
	// the envelope, and the app sends an email instead.
	body, err = app.Notification{
		ID:           "9f1c2d3e-0000-4000-8000-000000000002",
		Type:         `App\Notifications\EmailSent`,
		NotifiableID: 43,
		Data:         map[string]string{"subject": "Welcome"},
		Unoccupied:   events.UnoccupiedFallback,
	}.Body()
	fmt.Println(string(body), err)

	// A value the functions do not know is refused before anything is sent.
	_, err = app.Event{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: 1, Unoccupied: "drop"}.Body()
	fmt.Println(err != nil)
	// Output:
	// {"notification":{"id":"9f1c2d3e-0000-4000-8000-000000000001","type":"App\\Notifications\\EmailSent","notifiable_id":42,"data":{"subject":"Welcome"}}} <nil>
	// {"notification":{"id":"9f1c2d3e-0000-4000-8000-000000000002","type":"App\\Notifications\\EmailSent","notifiable_id":43,"data":{"subject":"Welcome"}},"unoccupied":"fallback"} <nil>
	// true
}

func ExampleQueue_Send() {
	ctx := context.Background()
	url := newQueue("herald-broadcast") // the stack's output BroadcastQueueUrl
	q := app.Queue{SQS: sqs.NewFromConfig(awsCfg), URL: url}

	err := q.Send(ctx, app.Event{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: map[string]string{"subject": "Hi"}})
	fmt.Println(err)
	fmt.Println(receive(url))
	// Output:
	// <nil>
	// [{"name":"EmailSent","channels":["private-App.Models.User.42"],"data":{"subject":"Hi"}}]
}

func ExampleQueue_SendBatch() {
	ctx := context.Background()
	url := newQueue("herald-broadcast")
	q := app.Queue{SQS: sqs.NewFromConfig(awsCfg), URL: url}

	var ts []app.Trigger
	for _, id := range []int{42, 43, 44} {
		ts = append(ts, app.Event{Name: "Ping", Channels: []string{fmt.Sprintf("private-App.Models.User.%d", id)}, Data: map[string]int{"n": id}})
	}
	ts = append(ts, app.Event{Name: "", Channels: []string{"private-x"}, Data: 1}) // refused, never sent
	for i, err := range q.SendBatch(ctx, ts) {
		fmt.Println(i, err)
	}
	fmt.Println(len(receive(url)), "messages")
	// Output:
	// 0 <nil>
	// 1 <nil>
	// 2 <nil>
	// 3 event "": name: is required
	// 3 messages
}

func ExampleOutbox_Write() {
	ctx := context.Background()
	db := dynamodb.NewFromConfig(awsCfg)
	users, outbox := newTable("Users", "id", true), newTable("Outbox", "pk", false)

	// The app's own change and the event, in one transaction.
	o := app.Outbox{DynamoDB: db, Table: outbox}
	err := o.Write(ctx, "email#7",
		app.Event{Name: "EmailSent", Channels: []string{"private-App.Models.User.42"}, Data: map[string]string{"subject": "Welcome"}},
		types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(users),
			Key:                       map[string]types.AttributeValue{"id": &types.AttributeValueMemberN{Value: "42"}},
			UpdateExpression:          aws.String("SET unread = if_not_exists(unread, :zero) + :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": &types.AttributeValueMemberN{Value: "0"}, ":one": &types.AttributeValueMemberN{Value: "1"}},
		}},
	)
	fmt.Println(err)

	row, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(outbox), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "email#7"}}})
	fmt.Println(row.Item["name"].(*types.AttributeValueMemberS).Value)
	user, _ := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(users), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberN{Value: "42"}}})
	fmt.Println("unread", user.Item["unread"].(*types.AttributeValueMemberN).Value)
	// Output:
	// <nil>
	// EmailSent
	// unread 1
}
