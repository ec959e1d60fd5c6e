package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestStreamEvent reads a table's stream in the package's shared moto and
// checks the events the poller builds from the SDK's records against what
// Lambda sends: one record per write, in order, NEW_AND_OLD_IMAGES (a new
// image on INSERT, both on MODIFY, the old one on REMOVE), the keys, the
// sequence number, size and creation time, the stream's ARN as
// eventSourceARN.
func TestStreamEvent(t *testing.T) {
	ctx := context.Background()
	cfg := testkit.AWSConfig(testkit.Moto(t))
	db := dynamodb.NewFromConfig(cfg)
	spec := tableSpec{name: testkit.UniqueName(t, "users"), key: "id", keyType: "N", stream: true, startAt: TrimHorizon}
	streamARN, err := createTable(ctx, db, spec)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []events.DynamoDBEventRecord
	fn := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev.Records...)
		return events.DynamoDBEventResponse{}, nil
	}
	p := &streamPoller{streams: dynamodbstreams.NewFromConfig(cfg), table: spec.name, streamARN: streamARN, startAt: TrimHorizon,
		mapping: TemplateStream, handle: lambda.NewHandler(fn), log: slog.New(slog.DiscardHandler)}
	if err := p.open(ctx); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Minute)
	u := User{ID: "7", Name: "Grace", Email: "grace@example.com"}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(spec.name), Item: item(u)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(spec.name), Key: userKey("7"),
		UpdateExpression: aws.String("SET #n = :n"), ExpressionAttributeNames: map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":n": &ddbtypes.AttributeValueMemberS{Value: "Grace Hopper"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(spec.name), Key: userKey("7")}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); p.run(runCtx) }()
	defer func() { stop(); <-done }()
	eventually(t, 20*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3, fmt.Sprintf("%d records", len(got))
	})

	mu.Lock()
	defer mu.Unlock()
	for i, want := range []struct {
		name          string
		newName, old  string
		newImg, oldIm bool
	}{{"INSERT", "Grace", "", true, false}, {"MODIFY", "Grace Hopper", "Grace", true, true}, {"REMOVE", "", "Grace Hopper", false, true}} {
		r := got[i]
		c := r.Change
		if r.EventName != want.name || r.EventSource != "aws:dynamodb" || r.EventSourceArn != streamARN || r.EventID == "" || r.AWSRegion == "" {
			t.Errorf("record %d: %s from %s (%s), id %q, region %q", i, r.EventName, r.EventSourceArn, r.EventSource, r.EventID, r.AWSRegion)
		}
		if c.StreamViewType != StreamViewType || c.Keys["id"].Number() != "7" || c.SizeBytes <= 0 || c.ApproximateCreationDateTime.Before(before) {
			t.Errorf("record %d: view %s, keys %v, size %d, created %v", i, c.StreamViewType, c.Keys, c.SizeBytes, c.ApproximateCreationDateTime)
		}
		if (c.NewImage != nil) != want.newImg || (c.OldImage != nil) != want.oldIm {
			t.Errorf("record %d (%s): new image %v, old image %v", i, r.EventName, c.NewImage, c.OldImage)
		}
		if want.newImg && c.NewImage["name"].String() != want.newName || want.oldIm && c.OldImage["name"].String() != want.old {
			t.Errorf("record %d: new %v, old %v", i, c.NewImage, c.OldImage)
		}
		if i > 0 && !seqLess(got[i-1].Change.SequenceNumber, c.SequenceNumber) {
			t.Errorf("sequence numbers %s then %s do not increase", got[i-1].Change.SequenceNumber, c.SequenceNumber)
		}
	}
}

// seqLess orders sequence numbers, decimal strings too long for an int64.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// streamTest is a stack whose driver reaches a Pusher API stand-in, so a
// test decides which broadcasts fail.
func streamTest(t *testing.T, mapping StreamMapping) (*Stack, *testkit.PusherAPI) {
	t.Helper()
	api := testkit.NewPusherAPI(t, localAppID, localAppKey, localAppSecret)
	st := start(t, map[string]string{
		"PUSHER_HOST":                  api.Host(),
		"PUSHER_PORT":                  strconv.Itoa(api.Port()),
		"BROADCAST_RETRY_MAX_ATTEMPTS": "1", // the retries under test are the mapping's
	}, func(c *Config) { c.Stream = mapping })
	return st, api
}

// putUsers writes users with ids one after the other, as an app would.
func putUsers(t *testing.T, st *Stack, ids ...int) {
	t.Helper()
	db := dynamodb.NewFromConfig(st.AWSConfig())
	for _, id := range ids {
		u := User{ID: strconv.Itoa(id), Name: "User " + strconv.Itoa(id), Email: fmt.Sprintf("u%d@example.com", id)}
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(UsersTable), Item: item(u)}); err != nil {
			t.Fatal(err)
		}
	}
}

// sequenceNumbers reads a table's stream from its start: the key of each
// INSERT -> its sequence number.
func sequenceNumbers(t *testing.T, st *Stack, table string) map[string]string {
	t.Helper()
	ctx := context.Background()
	c := dynamodbstreams.NewFromConfig(st.AWSConfig())
	arn := st.res.Streams[table]
	desc, err := c.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[string]string{}
	for _, sh := range desc.StreamDescription.Shards {
		it, err := c.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			if r.EventName != streamtypes.OperationTypeInsert {
				continue
			}
			for _, k := range r.Dynamodb.Keys {
				switch k := k.(type) {
				case *streamtypes.AttributeValueMemberN:
					seqs[k.Value] = aws.ToString(r.Dynamodb.SequenceNumber)
				case *streamtypes.AttributeValueMemberS:
					seqs[k.Value] = aws.ToString(r.Dynamodb.SequenceNumber)
				}
			}
		}
	}
	return seqs
}

// onFailure reads the on-failure records in the DLQ.
func onFailure(t *testing.T, st *Stack) []onFailureRecord {
	t.Helper()
	var out []onFailureRecord
	for _, l := range deadLetters(t, st) {
		var r onFailureRecord
		if err := json.Unmarshal([]byte(l.Body), &r); err != nil || r.BatchInfo == nil {
			t.Fatalf("DLQ message is not an on-failure record: %s", l.Body)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b onFailureRecord) int {
		if seqLess(a.BatchInfo.StartSequenceNumber, b.BatchInfo.StartSequenceNumber) {
			return -1
		}
		return 1
	})
	return out
}

// putOutbox writes outbox rows, one after the other, each an EmailSent
// envelope with an id for two channels of its own (so each is its own
// provider request and fails alone).
func putOutbox(t *testing.T, st *Stack, ids ...string) {
	t.Helper()
	db := dynamodb.NewFromConfig(st.AWSConfig())
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	for _, id := range ids {
		row := map[string]ddbtypes.AttributeValue{
			"pk":       s(id),
			"id":       s("mail-" + id),
			"name":     s(EmailEvent),
			"channels": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{s(UserChannelPrefix + id), s("private-audit." + id)}},
			"data":     &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"subject": s(id)}},
		}
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(OutboxTable), Item: row}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStreamRetryFromSequenceNumber: the middle one of three outbox rows
// fails to broadcast. The real StreamFunction reports its sequence
// number; the batch is retried from it (the row after it, already
// broadcast, is not broadcast again: IDEMPOTENCY_TABLE), and after
// MaxRetryAttempts the metadata of what is left goes to the DLQ, as
// Lambda sends it.
func TestStreamRetryFromSequenceNumber(t *testing.T) {
	st, api := streamTest(t, StreamMapping{BatchSize: 10, BatchingWindow: 2 * time.Second, MaxRetryAttempts: 2, MaxRecordAge: time.Hour, BisectOnError: true})
	api.SetFault(testkit.FailChannel(UserChannelPrefix+"101", 503))
	putOutbox(t, st, "100", "101", "102")
	outbox := st.streams[1]
	eventually(t, 60*time.Second, func() (bool, string) {
		return outbox.Stats().Discarded == 1, fmt.Sprintf("%+v", outbox.Stats())
	})
	if s := outbox.Stats(); s.Invocations != 3 || s.Retries != 2 || s.Bisections != 0 {
		t.Errorf("stats %+v, want 3 invocations (2 retries) and no bisection", s)
	}
	var subjects []string
	for _, e := range api.Events() {
		var d struct{ Subject string }
		json.Unmarshal([]byte(e.Data), &d)
		subjects = append(subjects, d.Subject)
	}
	// Rows for different channels go out concurrently, in either order.
	slices.Sort(subjects)
	if fmt.Sprint(subjects) != "[100 102]" {
		t.Errorf("broadcast %v, want 100 and 102 once each", subjects)
	}
	seqs := sequenceNumbers(t, st, OutboxTable)
	recs := onFailure(t, st)
	if len(recs) != 1 {
		t.Fatalf("%d on-failure records, want 1", len(recs))
	}
	r := recs[0]
	b := r.BatchInfo
	if b.StartSequenceNumber != seqs["101"] || b.EndSequenceNumber != seqs["102"] || b.BatchSize != 2 {
		t.Errorf("discarded %s..%s (%d records), want from 101's %s to 102's %s", b.StartSequenceNumber, b.EndSequenceNumber, b.BatchSize, seqs["101"], seqs["102"])
	}
	if r.RequestContext.Condition != "RetryAttemptsExhausted" || r.RequestContext.ApproximateInvokeCount != 3 || r.ResponseContext.FunctionError != "" ||
		b.StreamARN != st.res.Streams[OutboxTable] || b.ShardID == "" || b.FirstArrival == "" || r.Version != "1.0" ||
		r.RequestContext.FunctionARN != functionARN("StreamFunction") {
		t.Errorf("on-failure record %+v, batch %+v", r, *b)
	}
}

// TestStreamBisect: every broadcast fails, so each invocation fails
// (ErrNothingDelivered). The four-record batch is halved until each record
// is alone, each single record is retried MaxRetryAttempts times, and each
// goes to the DLQ on its own.
func TestStreamBisect(t *testing.T) {
	st, api := streamTest(t, StreamMapping{BatchSize: 10, BatchingWindow: 2 * time.Second, MaxRetryAttempts: 1, MaxRecordAge: time.Hour, BisectOnError: true})
	api.SetFault(func(testkit.PusherRequest) testkit.Fault { return testkit.Fault{Status: 503} })
	putUsers(t, st, 200, 201, 202, 203)
	users := st.streams[0]
	eventually(t, 60*time.Second, func() (bool, string) {
		return users.Stats().Discarded == 4, fmt.Sprintf("%+v", users.Stats())
	})
	// [200..203] -> [200 201] -> [200] x2, [201] x2; [202 203] -> [202] x2, [203] x2.
	if s := users.Stats(); s.Bisections != 3 || s.Invocations != 11 || s.Retries != 4 {
		t.Errorf("stats %+v, want 3 bisections, 11 invocations, 4 retries", s)
	}
	seqs := sequenceNumbers(t, st, UsersTable)
	recs := onFailure(t, st)
	if len(recs) != 4 {
		t.Fatalf("%d on-failure records, want 4", len(recs))
	}
	for i, r := range recs {
		want := seqs[strconv.Itoa(200+i)]
		if b := r.BatchInfo; b.BatchSize != 1 || b.StartSequenceNumber != want || b.EndSequenceNumber != want ||
			r.RequestContext.ApproximateInvokeCount != 2 || r.ResponseContext.FunctionError != "Unhandled" {
			t.Errorf("on-failure record %d: %+v %+v, want user %d's record alone after 2 invocations", i, r, *b, 200+i)
		}
	}
	if n := len(api.Events()); n != 0 {
		t.Errorf("%d broadcasts accepted, want none", n)
	}
}

// TestStreamFailures reads the function's answers as Lambda does.
func TestStreamFailures(t *testing.T) {
	var b []streamtypes.Record
	for _, seq := range []string{"11", "12", "13"} {
		b = append(b, streamtypes.Record{Dynamodb: &streamtypes.StreamRecord{SequenceNumber: aws.String(seq)}})
	}
	for _, tc := range []struct {
		name  string
		out   string
		err   error
		first int
		whole bool
	}{
		{"all succeeded", `{"batchItemFailures":[]}`, nil, -1, false},
		{"null response", `null`, nil, -1, false},
		{"one failed", `{"batchItemFailures":[{"itemIdentifier":"12"}]}`, nil, 1, false},
		{"lowest wins", `{"batchItemFailures":[{"itemIdentifier":"13"},{"itemIdentifier":"12"}]}`, nil, 1, false},
		{"function error", ``, fmt.Errorf("boom"), -1, true},
		{"unknown identifier", `{"batchItemFailures":[{"itemIdentifier":"99"}]}`, nil, -1, true},
		{"empty identifier", `{"batchItemFailures":[{"itemIdentifier":""}]}`, nil, -1, true},
		{"not a response", `"ok"`, nil, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, reason := streamFailures(b, []byte(tc.out), tc.err)
			if first != tc.first || (reason != "") != tc.whole {
				t.Errorf("first %d, reason %q; want %d, whole batch %t", first, reason, tc.first, tc.whole)
			}
		})
	}
}
