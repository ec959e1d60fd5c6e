package deadletter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/deadletter"
)

func attr(m types.Message, name string) string {
	return aws.ToString(m.MessageAttributes[name].StringValue)
}

func TestSend(t *testing.T) {
	client := sqs.NewFromConfig(testkit.AWSConfig(testkit.Moto(t)))
	url := testkit.Queue(t, client, "dlq")
	if _, err := deadletter.New(nil, deadletter.Config{}); err == nil {
		t.Fatal("New without a queue URL succeeded")
	}
	s, err := deadletter.New(client, deadletter.Config{QueueURL: url})
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("é", 200*1024) // 400 KiB of two-byte runes
	letters := []deadletter.Letter{
		{Body: "not json", Reason: "body is not valid JSON", SourceID: "m1", Source: "queue"},
		{Body: "", Reason: "body is empty", SourceID: "m2", Source: "queue"},
		{Body: huge, Reason: "data: is 409600 bytes, the limit is 10240", SourceID: "m3", Source: "queue"},
	}
	for i, err := range s.Send(context.Background(), letters) {
		if err != nil {
			t.Fatalf("letter %d: %v", i, err)
		}
	}
	got := testkit.ReceiveAll(t, client, url)
	if len(got) != 3 {
		t.Fatalf("%d letters queued", len(got))
	}
	if aws.ToString(got[0].Body) != "not json" || attr(got[0], deadletter.AttrReason) != "body is not valid JSON" ||
		attr(got[0], deadletter.AttrSourceID) != "m1" || attr(got[0], deadletter.AttrSource) != "queue" {
		t.Fatalf("letter 0 = %q %v", aws.ToString(got[0].Body), got[0].MessageAttributes)
	}
	if b := aws.ToString(got[1].Body); b != "(empty)" || attr(got[1], deadletter.AttrReason) != "body is empty" {
		t.Fatalf("empty body sent as %q, reason %q", b, attr(got[1], deadletter.AttrReason))
	}
	r, body := attr(got[2], deadletter.AttrReason), aws.ToString(got[2].Body)
	if !strings.HasPrefix(r, letters[2].Reason) || !strings.Contains(r, "body truncated from 409600 bytes") {
		t.Fatalf("truncated letter reason %q", r)
	}
	if !utf8.ValidString(body) || !strings.HasPrefix(huge, body) || len(body) > 256*1024 || len(body) < 255*1024 {
		t.Fatalf("truncated body: %d bytes, valid UTF-8 %v", len(body), utf8.ValidString(body))
	}
}

func TestSendReportsRefusals(t *testing.T) {
	srv := testkit.Moto(t)
	s, err := deadletter.New(sqs.NewFromConfig(testkit.AWSConfig(srv)), deadletter.Config{QueueURL: srv.Endpoint + "/" + moto.AccountID + "/" + testkit.UniqueName(t, "missing")})
	if err != nil {
		t.Fatal(err)
	}
	errs := s.Send(context.Background(), []deadletter.Letter{{Body: "x", Reason: "r", SourceID: "m1", Source: "queue"}})
	var missing *types.QueueDoesNotExist
	if len(errs) != 1 || errs[0] == nil || !strings.Contains(errs[0].Error(), "deadletter: queue m1 to BROADCAST_DLQ_URL's queue: ") || !errors.As(errs[0], &missing) {
		t.Fatalf("errs = %v, want the letter's QueueDoesNotExist", errs)
	}
}

func TestFromEnv(t *testing.T) {
	s, err := deadletter.FromEnv(config.Map(map[string]string{"BROADCAST_DLQ_URL": " "}))
	if s != nil || err != nil {
		t.Fatalf("without BROADCAST_DLQ_URL: %v, %v; want no sender", s, err)
	}
	_, err = deadletter.FromEnv(config.Map(map[string]string{"BROADCAST_DLQ_URL": "http://127.0.0.1:1/123456789012/dlq"}))
	if err == nil || !strings.HasPrefix(err.Error(), "BROADCAST_DLQ_URL: AWS_REGION is not set") {
		t.Fatalf("without AWS settings: %v", err)
	}

	// With the settings moto's Env gives, the sender's own client reaches
	// the queue through AWS_ENDPOINT_URL.
	srv := testkit.Moto(t)
	client := sqs.NewFromConfig(testkit.AWSConfig(srv))
	url := testkit.Queue(t, client, "dlq")
	env := map[string]string{"BROADCAST_DLQ_URL": url}
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if s, err = deadletter.FromEnv(config.Map(env)); err != nil || s == nil {
		t.Fatalf("FromEnv: %v, %v", s, err)
	}
	if errs := s.Send(context.Background(), []deadletter.Letter{{Body: "x", Reason: "r", SourceID: "m1", Source: "queue"}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if got := testkit.ReceiveAll(t, client, url); len(got) != 1 || attr(got[0], deadletter.AttrSourceID) != "m1" {
		t.Fatalf("queue holds %d letters, want m1's", len(got))
	}
}
