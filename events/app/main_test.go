package app_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
)

// awsCfg is the SDK configuration of the package's moto, which TestMain
// starts for the tests and the examples (an Example has no testing.T to
// hand testkit.Moto).
var awsCfg aws.Config

func TestMain(m *testing.M) {
	srv, err := moto.Start(context.Background(), moto.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "moto:", err)
		os.Exit(1)
	}
	awsCfg = testkit.AWSConfig(srv)
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

var seq int

// newQueue creates a queue of its own for one test or example.
func newQueue(name string) string {
	seq++
	out, err := sqs.NewFromConfig(awsCfg).CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("%s-%d", name, seq))})
	if err != nil {
		panic(err)
	}
	return *out.QueueUrl
}

// newTable creates a table keyed by a string pk, or a number id.
func newTable(name, key string, number bool) string {
	seq++
	table := fmt.Sprintf("%s-%d", name, seq)
	typ := "S"
	if number {
		typ = "N"
	}
	_, err := dynamodb.NewFromConfig(awsCfg).CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          "PAY_PER_REQUEST",
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: dbtypes.ScalarAttributeType(typ)}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String(key), KeyType: dbtypes.KeyTypeHash}},
	})
	if err != nil {
		panic(err)
	}
	return table
}

// receive returns the bodies waiting on a queue.
func receive(url string) []string {
	var bodies []string
	client := sqs.NewFromConfig(awsCfg)
	for {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			panic(err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, *m.Body)
		}
	}
}
