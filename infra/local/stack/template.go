package stack

import (
	"errors"
	"time"
)

// The local resources carry template.yaml's names where the template
// names them and its settings everywhere; TestTemplateDrift fails when the
// two part.
const (
	QueueName   = "herald-broadcast"
	DLQName     = "herald-broadcast-dlq"
	TopicName   = "herald-broadcast"
	RuleName    = "herald-broadcast"
	SecretName  = "herald-provider"
	UsersTable  = "Users"
	OutboxTable = "Outbox"
	// IdempotencyTable is template.yaml's IdempotencyTable.
	IdempotencyTable = "Idempotency"
	// PresenceTable is template.yaml's PresenceTable, kept by the local
	// WebhookFunction from the embedded server's webhooks.
	PresenceTable = "Presence"
	// EventBusName is template.yaml's EventBus.
	EventBusName = "herald"
	// FallbackQueueName and FallbackDLQName are template.yaml's
	// FallbackQueue and FallbackDeadLetterQueue.
	FallbackQueueName = "herald-fallback"
	FallbackDLQName   = "herald-fallback-dlq"

	// QueueVisibilityTimeout is BroadcastQueue's VisibilityTimeout.
	QueueVisibilityTimeout = 180 * time.Second
	// MaxReceiveCount is BroadcastQueue's redrive policy: after that many
	// receives moto moves a message to the DLQ, as SQS does.
	MaxReceiveCount = 5
	// StreamViewType is every streamed table's.
	StreamViewType = "NEW_AND_OLD_IMAGES"
	// RuleDetailType is what BroadcastRule matches: an event put on the
	// default bus with this detail-type reaches the broadcast queue.
	RuleDetailType = "herald.broadcast"
	// FunctionTimeout is the deadline of each invocation, the template's
	// function timeout.
	FunctionTimeout = 30 * time.Second
)

// RulePattern is BroadcastRule's EventPattern.
const RulePattern = `{"detail-type":["` + RuleDetailType + `"]}`

// SQSMapping is the QueueFunction's SQS event source mapping.
type SQSMapping struct {
	// BatchSize is the most messages per invocation (1 to 10,000).
	BatchSize int
	// BatchingWindow is how long to gather messages for a batch; above 10
	// messages it must be at least a second, as Lambda requires.
	BatchingWindow time.Duration
}

// TemplateSQS is the template's mapping with its parameters' defaults
// (QueueBatchSize, QueueMaxBatchingWindow).
var TemplateSQS = SQSMapping{BatchSize: 100, BatchingWindow: time.Second}

func (m SQSMapping) validate() error {
	switch {
	case m == SQSMapping{}:
		return nil
	case m.BatchSize < 1 || m.BatchSize > 10000:
		return errors.New("stack config: SQS.BatchSize must be between 1 and 10,000")
	case m.BatchingWindow < 0 || m.BatchingWindow > 300*time.Second:
		return errors.New("stack config: SQS.BatchingWindow must be between 0 and 300 s")
	case m.BatchSize > 10 && m.BatchingWindow < time.Second:
		return errors.New("stack config: SQS.BatchSize above 10 needs a BatchingWindow of at least 1 s")
	}
	return nil
}

func (m SQSMapping) withDefaults() SQSMapping {
	if m == (SQSMapping{}) {
		return TemplateSQS
	}
	return m
}

// StreamMapping is the StreamFunction's DynamoDB event source mapping, one
// per streamed table. ReportBatchItemFailures is always on, as in the
// template.
type StreamMapping struct {
	// BatchSize is the most records per invocation (1 to 10,000).
	BatchSize int
	// BatchingWindow is how long to gather records for a batch.
	BatchingWindow time.Duration
	// MaxRetryAttempts bounds the retries of a failing batch before its
	// metadata goes to the on-failure destination (the DLQ).
	MaxRetryAttempts int
	// MaxRecordAge is the age past which records are not retried but sent
	// to the on-failure destination.
	MaxRecordAge time.Duration
	// BisectOnError splits a batch whose invocation failed in two and
	// retries each half; a split does not count as a retry.
	BisectOnError bool
}

// TemplateStream is the template's mapping with its parameters' defaults
// (StreamBatchSize, StreamMaxBatchingWindow, StreamMaxRetryAttempts).
var TemplateStream = StreamMapping{
	BatchSize:        100,
	BatchingWindow:   0,
	MaxRetryAttempts: 5,
	MaxRecordAge:     24 * time.Hour,
	BisectOnError:    true,
}

func (m StreamMapping) validate() error {
	switch {
	case m == StreamMapping{}:
		return nil
	case m.BatchSize < 1 || m.BatchSize > 10000:
		return errors.New("stack config: Stream.BatchSize must be between 1 and 10,000")
	case m.BatchingWindow < 0 || m.BatchingWindow > 300*time.Second:
		return errors.New("stack config: Stream.BatchingWindow must be between 0 and 300 s")
	case m.MaxRetryAttempts < 0 || m.MaxRetryAttempts > 10000:
		return errors.New("stack config: Stream.MaxRetryAttempts must be between 0 and 10,000")
	case m.MaxRecordAge <= 0:
		return errors.New("stack config: Stream.MaxRecordAge must be positive")
	}
	return nil
}

func (m StreamMapping) withDefaults() StreamMapping {
	if m == (StreamMapping{}) {
		return TemplateStream
	}
	return m
}

// Starting positions of the stream mappings, as in the template.
const (
	TrimHorizon = "TRIM_HORIZON"
	Latest      = "LATEST"
)

// tableSpec is one local DynamoDB table.
type tableSpec struct {
	name    string
	key     string
	keyType string // "S" or "N"
	// stream: the StreamFunction reads the table from startAt.
	stream  bool
	startAt string
	ttl     string
}

// tables are the local tables. Outbox is the template's OutboxTable, read
// from TRIM_HORIZON as its Outbox event says. Users stands for the app's
// own table that the template's ModelTableStream reads from LATEST: the
// stack seeds it first, so the seed rows are not broadcast, and every
// write after start-up is. Idempotency is IdempotencyTable.
var tables = []tableSpec{
	{name: UsersTable, key: "id", keyType: "N", stream: true, startAt: Latest},
	{name: OutboxTable, key: "pk", keyType: "S", stream: true, startAt: TrimHorizon, ttl: "expires_at"},
	{name: IdempotencyTable, key: "id", keyType: "S", ttl: "expiration"},
}
