package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/retry"
)

// TestRateLimitedMessagesComeBackAfterTheirWait: a provider that answers
// 429 with Retry-After: 3 holds the messages back; the handler reports
// them as batch item failures at once and sets their visibility timeout to
// the wait, so SQS delivers them again after about three seconds instead
// of the ten minutes they were received with. Both ways in: Handle with
// the typed event, and Invoke with its bytes, as the Lambda runtime calls
// it (Invoke reads the receipt handles only then).
func TestRateLimitedMessagesComeBackAfterTheirWait(t *testing.T) {
	srv := testkit.Moto(t)
	client := sqs.NewFromConfig(testkit.AWSConfig(srv))
	for _, via := range []string{"Handle", "Invoke"} {
		t.Run(via, func(t *testing.T) { comesBackAfterWait(t, srv, client, via) })
	}
}

func comesBackAfterWait(t *testing.T, srv *moto.Server, client *sqs.Client, via string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	qurl := testkit.Queue(t, client, "visibility-"+strings.ToLower(via))
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qurl), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	arn := attrs.Attributes[string(types.QueueAttributeNameQueueArn)]
	body := `{"name":"E","channel":"private-App.Models.User.42","data":{}}`
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), VisibilityTimeout: 600, WaitTimeSeconds: 1})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive: %v, %d messages", err, len(got.Messages))
	}
	m := got.Messages[0]

	var requests atomic.Int32
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", "3")
		http.Error(w, "Too many requests", http.StatusTooManyRequests)
	}))
	defer provider.Close()
	u, _ := url.Parse(provider.URL)
	port, _ := strconv.Atoi(u.Port())
	p, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: appID, Key: key, Secret: secret, Host: u.Hostname(), Port: port, Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_REGION": moto.Region, "AWS_ENDPOINT_URL": srv.Endpoint,
		"AWS_ACCESS_KEY_ID": moto.AccessKeyID, "AWS_SECRET_ACCESS_KEY": moto.SecretAccessKey}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := queue.FromEnv(ctx, config.Map(env), queue.Deps{Driver: delivery.Guard(p, retry.Policy{Base: time.Millisecond}, nil, logger), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}

	// A deadline of 2.5 s leaves a budget of 1.5 s: shorter than the wait.
	ictx, icancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	ev := events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: body, EventSourceARN: arn, EventSource: "aws:sqs",
	}}}
	var resp events.SQSEventResponse
	if via == "Handle" {
		resp, err = h.Handle(ictx, ev)
	} else {
		payload, merr := json.Marshal(ev)
		if merr != nil {
			t.Fatal(merr)
		}
		var out []byte
		if out, err = h.Invoke(ictx, payload); err == nil {
			err = json.Unmarshal(out, &resp)
		}
	}
	icancel()
	// Its only message failed for now: the whole batch fails, or the
	// message is reported, either way for redelivery.
	switch {
	case err != nil && !errors.Is(err, delivery.ErrNothingDelivered):
		t.Fatalf("%s: %v", via, err)
	case err == nil && (len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != aws.ToString(m.MessageId)):
		t.Fatalf("response %+v: the message must be reported for retry", resp)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests reached the provider, want 1: none may go during Retry-After", n)
	}
	again, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), WaitTimeSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Messages) != 1 || aws.ToString(again.Messages[0].MessageId) != aws.ToString(m.MessageId) {
		t.Fatalf("the message did not come back within 10 s: its visibility was not set to the wait")
	}
}
