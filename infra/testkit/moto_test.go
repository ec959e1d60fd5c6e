package testkit

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestMoto starts moto once for two callers and reaches it with the SDK.
func TestMoto(t *testing.T) {
	s := Moto(t)
	if again := Moto(t); again != s {
		t.Fatal("a second Moto call started a second server")
	}
	client := sqs.NewFromConfig(AWSConfig(s))
	ctx := context.Background()
	name := UniqueName(t, "q")
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 || aws.ToString(got.Messages[0].Body) != "hello" {
		t.Fatalf("received %+v, want the one message sent", got.Messages)
	}
}

func TestMain(m *testing.M) { Main(m) }
