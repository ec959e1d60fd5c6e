package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// streamPollInterval is how often a shard is read: Lambda polls each
// shard four times a second. After idleAfter without a record, the stack
// reads an idle shard once a second instead: moto keeps every iterator it
// hands out (about 1 MB a minute at four reads a second per table).
const (
	streamPollInterval = 250 * time.Millisecond
	idlePollInterval   = time.Second
	idleAfter          = 30 * time.Second
)

// retryPause separates the retries of a failing stream batch.
const retryPause = 500 * time.Millisecond

// Conditions of an on-failure record, as Lambda names them.
const (
	conditionRetries = "RetryAttemptsExhausted"
	conditionAge     = "RecordAgeExceeded"
)

// streamPoller does for one table's stream what Lambda's DynamoDB event
// source mapping does: it reads each shard in order (GetShardIterator from
// its starting position, then GetRecords), hands batches to the
// StreamFunction as the event Lambda would send, and checkpoints by
// sequence number:
//
//   - success: the whole batch is done;
//   - batchItemFailures: the records before the lowest sequence number
//     reported are done, the batch is retried from it;
//   - a function error (or a response naming a record not in the batch):
//     with BisectOnError the batch is split in two and each half tried on
//     its own, without counting a retry; a single record is retried;
//   - after MaxRetryAttempts retries, or once its oldest record is older
//     than MaxRecordAge, the batch's metadata (never its records) goes to
//     the on-failure destination, the DLQ, and the shard moves on.
//
// A shard's next batch waits for the current one, so records of one shard
// are broadcast in order, as Lambda guarantees.
type streamPoller struct {
	streams     *dynamodbstreams.Client
	sqs         *sqs.Client
	table       string
	streamARN   string
	startAt     string
	mapping     StreamMapping
	dlqURL      string
	functionARN string
	handle      lambda.Handler
	log         *slog.Logger

	shards []shardReader

	mu    sync.Mutex
	stats StreamStats
}

// StreamStats count what a stream poller has done since start-up.
type StreamStats struct {
	Invocations int `json:"invocations"`
	Records     int `json:"records"` // records of successful invocations
	Retries     int `json:"retries"`
	Bisections  int `json:"bisections"`
	// Discarded batches went to the on-failure destination.
	Discarded int `json:"discarded"`
}

type shardReader struct {
	id       string
	iterator string
	// last is the sequence number of the last record read, where a new
	// iterator starts when this one expires (after 15 minutes in AWS).
	last string
	// active is when a record was last read.
	active time.Time
}

// open takes an iterator for every shard at the mapping's starting
// position. The stack calls it before it serves, so LATEST means "every
// write after start-up".
func (p *streamPoller) open(ctx context.Context) error {
	desc, err := p.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.streamARN)})
	if err != nil {
		return fmt.Errorf("describing the stream of %s: %w", p.table, err)
	}
	for _, sh := range desc.StreamDescription.Shards {
		it, err := p.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn:         aws.String(p.streamARN),
			ShardId:           sh.ShardId,
			ShardIteratorType: types.ShardIteratorType(p.startAt),
		})
		if err != nil {
			return fmt.Errorf("reading the stream of %s (shard %s): %w", p.table, aws.ToString(sh.ShardId), err)
		}
		p.shards = append(p.shards, shardReader{id: aws.ToString(sh.ShardId), iterator: aws.ToString(it.ShardIterator), active: time.Now()})
	}
	return nil
}

// run reads every shard until ctx ends; the batch in hand is finished
// first, within its own deadline.
func (p *streamPoller) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, sh := range p.shards {
		wg.Go(func() { p.runShard(ctx, sh) })
	}
	wg.Wait()
}

func (p *streamPoller) runShard(ctx context.Context, sh shardReader) {
	log := p.log.With("shard", sh.id)
	for ctx.Err() == nil && sh.iterator != "" {
		batch, err := p.gather(ctx, &sh)
		if len(batch) > 0 {
			p.process(ctx, sh.id, batch)
		}
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) {
			err = p.reopen(ctx, &sh)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("reading the stream", "err", err)
			sleep(ctx, time.Second)
		}
	}
}

// reopen replaces an expired iterator: after the last record read, or at
// the starting position when none was.
func (p *streamPoller) reopen(ctx context.Context, sh *shardReader) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.streamARN), ShardId: aws.String(sh.id), ShardIteratorType: types.ShardIteratorType(p.startAt)}
	if sh.last != "" {
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.last)
	}
	it, err := p.streams.GetShardIterator(ctx, in)
	if err != nil {
		return fmt.Errorf("renewing the iterator of shard %s: %w", sh.id, err)
	}
	sh.iterator = aws.ToString(it.ShardIterator)
	return nil
}

// gather reads records until the batch is full or, once it holds one,
// the batching window has passed.
func (p *streamPoller) gather(ctx context.Context, sh *shardReader) ([]types.Record, error) {
	var batch []types.Record
	var deadline time.Time
	for len(batch) < p.mapping.BatchSize && sh.iterator != "" {
		out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{
			ShardIterator: aws.String(sh.iterator),
			Limit:         aws.Int32(int32(min(1000, p.mapping.BatchSize-len(batch)))),
		})
		if err != nil {
			return batch, err
		}
		// A closed shard has no next iterator: it is read to its end.
		sh.iterator = aws.ToString(out.NextShardIterator)
		if len(batch) == 0 && len(out.Records) > 0 {
			deadline = time.Now().Add(p.mapping.BatchingWindow)
		}
		batch = append(batch, out.Records...)
		if n := len(out.Records); n > 0 {
			sh.last = aws.ToString(out.Records[n-1].Dynamodb.SequenceNumber)
			sh.active = time.Now()
		}
		if len(batch) > 0 && !time.Now().Before(deadline) {
			break
		}
		if len(out.Records) == 0 {
			wait := streamPollInterval
			if time.Since(sh.active) > idleAfter {
				wait = idlePollInterval
			}
			if len(batch) > 0 {
				wait = min(wait, time.Until(deadline))
			}
			if !sleep(ctx, wait) {
				return batch, nil
			}
		}
	}
	return batch, nil
}

// process delivers one batch until it is done or discarded. An invocation
// under way when ctx ends runs to its own deadline; no retry follows it.
func (p *streamPoller) process(ctx context.Context, shardID string, batch []types.Record) {
	stop := ctx
	ctx = context.WithoutCancel(ctx)
	pending := [][]types.Record{batch}
	invokes := 0
	for len(pending) > 0 && stop.Err() == nil {
		b := pending[0]
		if oldest := b[0].Dynamodb.ApproximateCreationDateTime; oldest != nil && time.Since(*oldest) > p.mapping.MaxRecordAge {
			p.discard(ctx, shardID, b, conditionAge, invokes, "")
			pending, invokes = pending[1:], 0
			continue
		}
		invokes++
		failedAt, whole := p.invoke(ctx, b)
		switch {
		case failedAt < 0 && !whole:
			pending, invokes = pending[1:], 0
		case whole && p.mapping.BisectOnError && len(b) > 1:
			half := len(b) / 2
			pending = append([][]types.Record{b[:half], b[half:]}, pending[1:]...)
			invokes = 0
			p.count(func(s *StreamStats) { s.Bisections++ })
		case invokes > p.mapping.MaxRetryAttempts:
			from := b
			functionError := "Unhandled"
			if !whole {
				from, functionError = b[failedAt:], ""
			}
			p.discard(ctx, shardID, from, conditionRetries, invokes, functionError)
			pending, invokes = pending[1:], 0
		default:
			if !whole {
				pending[0] = b[failedAt:] // retried from the lowest failed sequence number
			}
			p.count(func(s *StreamStats) { s.Retries++ })
			sleep(stop, retryPause)
		}
	}
}

// invoke runs the StreamFunction on b and returns the index of the first
// record to retry (-1 when none) or whole when the invocation failed.
func (p *streamPoller) invoke(ctx context.Context, b []types.Record) (failedAt int, whole bool) {
	payload, err := json.Marshal(p.event(b))
	if err != nil {
		p.log.Error("encoding the DynamoDB event", "err", err)
		return -1, true
	}
	ictx, cancel := context.WithTimeout(ctx, FunctionTimeout)
	defer cancel()
	start := time.Now()
	out, err := invoke(ictx, p.handle, payload)
	failedAt, reason := streamFailures(b, out, err)
	p.log.Info("StreamFunction invoked", "records", len(b), "retry_from", failedAt,
		"duration_ms", time.Since(start).Milliseconds(), "reason", reason)
	p.count(func(s *StreamStats) {
		s.Invocations++
		if reason == "" && failedAt < 0 {
			s.Records += len(b)
		}
	})
	return failedAt, reason != ""
}

// streamFailures reads the function's answer: the index of the record with
// the lowest reported sequence number, or why the whole batch failed.
func streamFailures(b []types.Record, out []byte, err error) (int, string) {
	if err != nil {
		return -1, "function error: " + err.Error()
	}
	var resp events.DynamoDBEventResponse
	if len(out) > 0 && string(out) != "null" {
		if err := json.Unmarshal(out, &resp); err != nil {
			return -1, "response is not a DynamoDBEventResponse: " + err.Error()
		}
	}
	index := make(map[string]int, len(b))
	for i, r := range b {
		index[aws.ToString(r.Dynamodb.SequenceNumber)] = i
	}
	first := -1
	for _, f := range resp.BatchItemFailures {
		i, ok := index[f.ItemIdentifier]
		if !ok {
			// Lambda treats an unknown or empty identifier as a failure of
			// the whole batch.
			return -1, fmt.Sprintf("batchItemFailures names %q, which is not in the batch", f.ItemIdentifier)
		}
		if first < 0 || i < first {
			first = i
		}
	}
	return first, ""
}

// discard sends the batch's metadata to the on-failure destination, the
// invocation record Lambda sends to an SQS destination.
func (p *streamPoller) discard(ctx context.Context, shardID string, b []types.Record, condition string, invokes int, functionError string) {
	first, last := b[0].Dynamodb, b[len(b)-1].Dynamodb
	rec := onFailureRecord{Version: "1.0", Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	rec.RequestContext.RequestID = newRequestID()
	rec.RequestContext.FunctionARN = p.functionARN
	rec.RequestContext.Condition = condition
	rec.RequestContext.ApproximateInvokeCount = invokes
	rec.ResponseContext.StatusCode = 200
	rec.ResponseContext.ExecutedVersion = "$LATEST"
	rec.ResponseContext.FunctionError = functionError
	rec.BatchInfo = &ddbBatchInfo{
		ShardID:             shardID,
		StartSequenceNumber: aws.ToString(first.SequenceNumber),
		EndSequenceNumber:   aws.ToString(last.SequenceNumber),
		FirstArrival:        arrival(first),
		LastArrival:         arrival(last),
		BatchSize:           len(b),
		StreamARN:           p.streamARN,
	}
	body, _ := json.Marshal(rec)
	p.log.Error("stream batch discarded; its metadata goes to the dead-letter queue", "condition", condition,
		"from", rec.BatchInfo.StartSequenceNumber, "to", rec.BatchInfo.EndSequenceNumber, "records", len(b))
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := p.sqs.SendMessage(sctx, &sqs.SendMessageInput{QueueUrl: aws.String(p.dlqURL), MessageBody: aws.String(string(body))}); err != nil {
		p.log.Error("sending to the on-failure destination", "err", err)
	}
	p.count(func(s *StreamStats) { s.Discarded++ })
}

// onFailureRecord is the invocation record Lambda sends to a stream event
// source mapping's on-failure destination.
type onFailureRecord struct {
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionARN            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	} `json:"responseContext"`
	Version   string        `json:"version"`
	Timestamp string        `json:"timestamp"`
	BatchInfo *ddbBatchInfo `json:"DDBStreamBatchInfo"`
}

type ddbBatchInfo struct {
	ShardID             string `json:"shardId"`
	StartSequenceNumber string `json:"startSequenceNumber"`
	EndSequenceNumber   string `json:"endSequenceNumber"`
	FirstArrival        string `json:"approximateArrivalOfFirstRecord"`
	LastArrival         string `json:"approximateArrivalOfLastRecord"`
	BatchSize           int    `json:"batchSize"`
	StreamARN           string `json:"streamArn"`
}

func arrival(r *types.StreamRecord) string {
	if r.ApproximateCreationDateTime == nil {
		return ""
	}
	return r.ApproximateCreationDateTime.UTC().Format(time.RFC3339)
}

// event builds the DynamoDB event Lambda sends for b: the stream's records
// with the stream's ARN as eventSourceARN.
func (p *streamPoller) event(b []types.Record) events.DynamoDBEvent {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, 0, len(b))}
	for _, r := range b {
		d := r.Dynamodb
		rec := events.DynamoDBEventRecord{
			AWSRegion:      aws.ToString(r.AwsRegion),
			EventID:        aws.ToString(r.EventID),
			EventName:      string(r.EventName),
			EventSource:    aws.ToString(r.EventSource),
			EventVersion:   aws.ToString(r.EventVersion),
			EventSourceArn: p.streamARN,
			Change: events.DynamoDBStreamRecord{
				Keys:           attributes(d.Keys),
				NewImage:       attributes(d.NewImage),
				OldImage:       attributes(d.OldImage),
				SequenceNumber: aws.ToString(d.SequenceNumber),
				SizeBytes:      aws.ToInt64(d.SizeBytes),
				StreamViewType: string(d.StreamViewType),
			},
		}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
		if u := r.UserIdentity; u != nil {
			rec.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// attributes converts the SDK's attribute values to aws-lambda-go's.
func attributes(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = attribute(v)
	}
	return out
}

func attribute(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = attribute(e)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(attributes(v.Value))
	}
	return events.NewNullAttribute()
}

func (p *streamPoller) count(f func(*StreamStats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.stats)
}

// Stats returns the counters so far.
func (p *streamPoller) Stats() StreamStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// sleep waits d or until ctx ends, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
