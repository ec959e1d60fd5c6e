package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Message retention of the queues, as in template.yaml.
const (
	queueRetention = 345600  // 4 days
	dlqRetention   = 1209600 // 14 days
)

// clients are the stack's own SDK clients for its moto.
type clients struct {
	sqs     *sqs.Client
	ddb     *dynamodb.Client
	streams *dynamodbstreams.Client
	secrets *secretsmanager.Client
	sns     *sns.Client
	events  *eventbridge.Client
}

func newClients(cfg aws.Config) clients {
	return clients{
		sqs:     sqs.NewFromConfig(cfg),
		ddb:     dynamodb.NewFromConfig(cfg),
		streams: dynamodbstreams.NewFromConfig(cfg),
		secrets: secretsmanager.NewFromConfig(cfg),
		sns:     sns.NewFromConfig(cfg),
		events:  eventbridge.NewFromConfig(cfg),
	}
}

// resources are what the stack created in moto.
type resources struct {
	QueueURL, QueueARN string
	DLQURL, DLQARN     string
	TopicARN, RuleARN  string
	SecretARN          string
	// FallbackURL is the fallback queue ("unoccupied": "fallback").
	FallbackURL, FallbackARN string
	FallbackDLQURL           string
	// Streams maps each streamed table to its stream's ARN.
	Streams map[string]string
}

// create makes template.yaml's resources in a fresh moto: the queues with
// their redrive policy, the topic and the rule that feed the broadcast
// queue, the tables (streams, TTL), the provider secret, and the demo's
// users.
func create(ctx context.Context, c clients, visibility time.Duration) (resources, error) {
	var r resources
	var err error
	if r.DLQURL, r.DLQARN, err = createQueue(ctx, c.sqs, DLQName, map[string]string{
		"MessageRetentionPeriod": strconv.Itoa(dlqRetention),
	}); err != nil {
		return r, err
	}
	redrive, _ := json.Marshal(map[string]any{"deadLetterTargetArn": r.DLQARN, "maxReceiveCount": MaxReceiveCount})
	if r.QueueURL, r.QueueARN, err = createQueue(ctx, c.sqs, QueueName, map[string]string{
		"VisibilityTimeout":      strconv.Itoa(int(visibility / time.Second)),
		"MessageRetentionPeriod": strconv.Itoa(queueRetention),
		"RedrivePolicy":          string(redrive),
	}); err != nil {
		return r, err
	}
	if err := r.fanIn(ctx, c); err != nil {
		return r, err
	}
	r.Streams = map[string]string{}
	for _, t := range tables {
		arn, err := createTable(ctx, c.ddb, t)
		if err != nil {
			return r, err
		}
		if t.stream {
			r.Streams[t.name] = arn
		}
	}
	if err := r.createPresence(ctx, c); err != nil {
		return r, err
	}
	secret, _ := json.Marshal(localSecretValues())
	out, err := c.secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(SecretName),
		Description:  aws.String("herald (local): provider credentials and the publish API secret"),
		SecretString: aws.String(string(secret)),
	})
	if err != nil {
		return r, fmt.Errorf("creating the secret %s: %w", SecretName, err)
	}
	r.SecretARN = aws.ToString(out.ARN)
	return r, seedUsers(ctx, c.ddb)
}

func createQueue(ctx context.Context, c *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", "", fmt.Errorf("creating the queue %s: %w", name, err)
	}
	url = aws.ToString(out.QueueUrl)
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("reading the queue %s: %w", name, err)
	}
	return url, a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}

// fanIn subscribes the broadcast queue to the topic (SNS envelopes, not
// raw delivery: the QueueFunction unwraps them) and to the rule on the
// default event bus, and lets both send to it, as template.yaml does.
func (r *resources) fanIn(ctx context.Context, c clients) error {
	topic, err := c.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(TopicName)})
	if err != nil {
		return fmt.Errorf("creating the topic %s: %w", TopicName, err)
	}
	r.TopicARN = aws.ToString(topic.TopicArn)
	if _, err := c.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:   topic.TopicArn,
		Protocol:   aws.String("sqs"),
		Endpoint:   aws.String(r.QueueARN),
		Attributes: map[string]string{"RawMessageDelivery": "false"},
	}); err != nil {
		return fmt.Errorf("subscribing %s to the topic %s: %w", QueueName, TopicName, err)
	}
	rule, err := c.events.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String(RuleName),
		EventBusName: aws.String("default"),
		EventPattern: aws.String(RulePattern),
		State:        ebtypes.RuleStateEnabled,
		Description:  aws.String("herald: envelopes put on the default bus reach the broadcast queue"),
	})
	if err != nil {
		return fmt.Errorf("creating the rule %s: %w", RuleName, err)
	}
	r.RuleARN = aws.ToString(rule.RuleArn)
	if _, err := c.events.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule:         aws.String(RuleName),
		EventBusName: aws.String("default"),
		Targets:      []ebtypes.Target{{Id: aws.String("BroadcastQueue"), Arn: aws.String(r.QueueARN)}},
	}); err != nil {
		return fmt.Errorf("targeting %s from the rule %s: %w", QueueName, RuleName, err)
	}
	policy, _ := json.Marshal(queuePolicy(r.QueueARN, r.TopicARN, r.RuleARN))
	if _, err := c.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl:   aws.String(r.QueueURL),
		Attributes: map[string]string{"Policy": string(policy)},
	}); err != nil {
		return fmt.Errorf("setting the policy of %s: %w", QueueName, err)
	}
	return nil
}

// queuePolicy is template.yaml's BroadcastQueuePolicy: the topic and the
// rule, and nothing else, may send to the queue.
func queuePolicy(queueARN, topicARN, ruleARN string) map[string]any {
	statement := func(sid, service, source string) map[string]any {
		return map[string]any{
			"Sid":       sid,
			"Effect":    "Allow",
			"Principal": map[string]string{"Service": service},
			"Action":    "sqs:SendMessage",
			"Resource":  queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": source}},
		}
	}
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			statement("BroadcastTopic", "sns.amazonaws.com", topicARN),
			statement("BroadcastRule", "events.amazonaws.com", ruleARN),
		},
	}
}

// createTable creates t (on demand, as the template's) and returns its
// stream's ARN.
func createTable(ctx context.Context, c *dynamodb.Client, t tableSpec) (string, error) {
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(t.name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(t.key), AttributeType: ddbtypes.ScalarAttributeType(t.keyType)}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(t.key), KeyType: ddbtypes.KeyTypeHash}},
	}
	if t.stream {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(StreamViewType)}
	}
	out, err := c.CreateTable(ctx, in)
	if err != nil {
		return "", fmt.Errorf("creating the table %s: %w", t.name, err)
	}
	if t.ttl != "" {
		if _, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(t.name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(t.ttl), Enabled: aws.Bool(true)},
		}); err != nil {
			return "", fmt.Errorf("enabling TTL on %s: %w", t.name, err)
		}
	}
	return aws.ToString(out.TableDescription.LatestStreamArn), nil
}

// find looks up the resources a running stack created, for Invoke.
func find(ctx context.Context, c clients) (resources, error) {
	var r resources
	for _, q := range []struct {
		name     string
		url, arn *string
	}{{QueueName, &r.QueueURL, &r.QueueARN}, {DLQName, &r.DLQURL, &r.DLQARN}, {FallbackQueueName, &r.FallbackURL, &r.FallbackARN}} {
		out, err := c.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.name)})
		if err != nil {
			return r, fmt.Errorf("finding the queue %s: %w", q.name, err)
		}
		*q.url = aws.ToString(out.QueueUrl)
	}
	s, err := c.secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(SecretName)})
	if err != nil {
		return r, fmt.Errorf("finding the secret %s: %w", SecretName, err)
	}
	r.SecretARN = aws.ToString(s.ARN)
	return r, nil
}
