package deadletter_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldrt/herald/infra/sqs"
	"github.com/heraldrt/herald/shared/deadletter"
)

func TestSend(t *testing.T) {
	srv := sqs.New(sqs.Config{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	url, _ := srv.CreateQueue("dlq", nil)
	if _, err := deadletter.New(nil, deadletter.Config{}); err == nil {
		t.Fatal("New without a queue URL succeeded")
	}
	s, err := deadletter.New(sqs.BatchClient(ts.URL), deadletter.Config{QueueURL: url})
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
	got := srv.Messages("dlq")
	if len(got) != 3 {
		t.Fatalf("%d letters queued", len(got))
	}
	if got[0].Body != "not json" || got[0].Attributes["reason"].StringValue != "body is not valid JSON" ||
		got[0].Attributes["source_id"].StringValue != "m1" || got[0].Attributes["source"].StringValue != "queue" {
		t.Fatalf("letter 0 = %+v", got[0])
	}
	if got[1].Body != "(empty)" {
		t.Fatalf("empty body sent as %q", got[1].Body)
	}
	r := got[2].Attributes["reason"].StringValue
	if !strings.HasPrefix(r, letters[2].Reason) || !strings.Contains(r, "body truncated from 409600 bytes") {
		t.Fatalf("truncated letter reason %q", r)
	}
	if !utf8.ValidString(got[2].Body) || !strings.HasPrefix(huge, got[2].Body) || len(got[2].Body) > 256*1024 {
		t.Fatalf("truncated body: %d bytes, valid UTF-8 %v", len(got[2].Body), utf8.ValidString(got[2].Body))
	}
}

func TestSendReportsRefusals(t *testing.T) {
	srv := sqs.New(sqs.Config{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	s, _ := deadletter.New(sqs.BatchClient(ts.URL), deadletter.Config{QueueURL: ts.URL + "/000000000000/missing"})
	errs := s.Send(context.Background(), []deadletter.Letter{{Body: "x", Reason: "r", SourceID: "m1", Source: "queue"}})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "queue m1") || !strings.Contains(errs[0].Error(), "NonExistentQueue") {
		t.Fatalf("err = %v", errs[0])
	}
}
