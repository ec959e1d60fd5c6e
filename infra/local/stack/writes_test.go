package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/coder/websocket"
)

// TestAppWrites: what an app does against the stack's moto with its own
// SDK, outside the /dev endpoints, reaches a subscriber: a row put in
// Users (a model broadcast), an outbox row, an envelope published to the
// SNS topic, one put on the default event bus. The seed rows, written
// before the stream is read from LATEST, are not broadcast.
func TestAppWrites(t *testing.T) {
	st := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := st.AWSConfig()
	ws := subscribe(t, ctx, st, UserChannelPrefix+"44")
	defer ws.CloseNow()

	t.Run("put-item", func(t *testing.T) {
		var it map[string]ddbtypes.AttributeValue
		var raw map[string]map[string]string
		if err := json.Unmarshal([]byte(demoPutItem), &raw); err != nil {
			t.Fatal(err)
		}
		it = map[string]ddbtypes.AttributeValue{}
		for k, v := range raw {
			if n, ok := v["N"]; ok {
				it[k] = &ddbtypes.AttributeValueMemberN{Value: n}
			} else {
				it[k] = &ddbtypes.AttributeValueMemberS{Value: v["S"]}
			}
		}
		it["password"] = &ddbtypes.AttributeValueMemberS{Value: "not for broadcast"}
		if _, err := dynamodb.NewFromConfig(cfg).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(UsersTable), Item: it}); err != nil {
			t.Fatal(err)
		}
		f := readUntil(t, ctx, ws, "UserCreated")
		if !strings.Contains(f.Data, `"name":"Carol"`) || strings.Contains(f.Data, "password") {
			t.Errorf("UserCreated data %s: want Carol, without the hidden password", f.Data)
		}
		// The invocation ends just after the broadcast.
		eventually(t, 10*time.Second, func() (bool, string) {
			s := st.streams[0].Stats()
			return s.Invocations == 1 && s.Records == 1, fmt.Sprintf("Users stream stats %+v: want this write alone, not the seed rows", s)
		})
	})

	t.Run("sdk", func(t *testing.T) {
		// The banner's aws-sdk-go-v2 lines, with its variables and no
		// profile of the developer's.
		for k, v := range map[string]string{"AWS_ENDPOINT_URL": st.URLs().AWS, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
			"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_PROFILE": ""} {
			t.Setenv(k, v)
		}
		if !strings.Contains(sdkSnippet(st.URLs().Queue), "config.LoadDefaultConfig(ctx)") {
			t.Fatal("the banner no longer shows config.LoadDefaultConfig")
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl:    aws.String(st.URLs().Queue),
			MessageBody: aws.String(`{"name":"EmailSent","channels":["private-App.Models.User.44"],"data":{"subject":"Hi"}}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if f := readUntil(t, ctx, ws, EmailEvent); !strings.Contains(f.Data, `"subject":"Hi"`) {
			t.Errorf("EmailSent data %s", f.Data)
		}
	})

	t.Run("aws-cli", func(t *testing.T) {
		if _, err := exec.LookPath("aws"); err != nil {
			t.Fatal("the AWS CLI is not installed (apt-get install awscli, or pip install awscli): the banner's put-item line cannot run")
		}
		line := strings.Replace(putItemCommand(st.URLs().AWS), `"Carol"`, `"Carol Ann"`, 1)
		cmd := exec.CommandContext(ctx, "sh", "-c", line)
		cmd.Env = []string{"PATH=" + getenv("PATH"), "HOME=" + t.TempDir()}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		if f := readUntil(t, ctx, ws, "UserUpdated"); !strings.Contains(f.Data, `"name":"Carol Ann"`) {
			t.Errorf("UserUpdated data %s", f.Data)
		}
	})

	envelope := func(subject string) string {
		return `{"name":"EmailSent","channels":["` + UserChannelPrefix + `44"],"data":{"subject":"` + subject + `"}}`
	}
	t.Run("outbox", func(t *testing.T) {
		row := map[string]ddbtypes.AttributeValue{
			"pk":         &ddbtypes.AttributeValueMemberS{Value: "outbox#1"},
			"name":       &ddbtypes.AttributeValueMemberS{Value: "EmailSent"},
			"channels":   &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberS{Value: UserChannelPrefix + "44"}}},
			"data":       &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"subject": &ddbtypes.AttributeValueMemberS{Value: "from the outbox"}}},
			"expires_at": &ddbtypes.AttributeValueMemberN{Value: "4102444800"},
		}
		if _, err := dynamodb.NewFromConfig(cfg).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(OutboxTable), Item: row}); err != nil {
			t.Fatal(err)
		}
		if f := readUntil(t, ctx, ws, EmailEvent); !strings.Contains(f.Data, "from the outbox") {
			t.Errorf("EmailSent data %s", f.Data)
		}
	})

	t.Run("sns", func(t *testing.T) {
		if _, err := sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(st.res.TopicARN), Message: aws.String(envelope("through SNS"))}); err != nil {
			t.Fatal(err)
		}
		if f := readUntil(t, ctx, ws, EmailEvent); !strings.Contains(f.Data, "through SNS") {
			t.Errorf("EmailSent data %s", f.Data)
		}
	})

	t.Run("eventbridge", func(t *testing.T) {
		eb := eventbridge.NewFromConfig(cfg)
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
			// Not the rule's detail-type: it stays on the bus.
			{Source: aws.String("app.orders"), DetailType: aws.String("order.shipped"), Detail: aws.String(envelope("not matched"))},
			{Source: aws.String("app.mail"), DetailType: aws.String(RuleDetailType), Detail: aws.String(envelope("through EventBridge"))},
		}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v, %d failed", err, out.FailedEntryCount)
		}
		if f := readUntil(t, ctx, ws, EmailEvent); !strings.Contains(f.Data, "through EventBridge") {
			t.Errorf("EmailSent data %s: want the matched event, alone", f.Data)
		}
		time.Sleep(2 * time.Second) // the unmatched event would be broadcast by now
		if s := st.poller.Stats(); s.Messages != 3 {
			t.Errorf("the QueueFunction received %d messages, want the SDK's, the SNS one and the matched EventBridge one", s.Messages)
		}
	})
}

// readUntil reads frames until one named name, skipping the others.
func readUntil(t *testing.T, ctx context.Context, ws *websocket.Conn, name string) frame {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if f := read(t, rctx, ws); f.Event == name {
			return f
		}
	}
}

func getenv(k string) string { v, _ := os.LookupEnv(k); return v }
