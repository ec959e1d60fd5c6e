package stack

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"gopkg.in/yaml.v3"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/presence"
)

// node walks a template's mapping keys; nil when one is missing. Tags
// (!Ref, !GetAtt) stay on the nodes.
var node = testkit.YAMLPath

func value(n *yaml.Node) string {
	if n == nil {
		return "<missing>"
	}
	return n.Value
}

// TestTemplateDrift fails when the local stack's resources and event
// source mappings part from template.yaml: the template's values (a
// parameter's default where it refers to one) against the stack's
// constants, and against what a default stack created in moto.
//
// The template has no Users table: it reads the app's own tables through
// ModelTableStream (ModelTableStreamArn, which must be NEW_AND_OLD_IMAGES).
// The local Users table stands for such a table, so it is checked against
// what the template says of them: the stream view type and the mapping,
// LATEST included; its key schema is the demo's own.
func TestTemplateDrift(t *testing.T) {
	root := testkit.Template(t)
	res := node(root, "Resources")
	// param resolves !Ref Parameter to its default.
	param := func(n *yaml.Node) string {
		if n != nil && n.Tag == "!Ref" {
			return value(node(root, "Parameters", n.Value, "Default"))
		}
		return value(n)
	}
	seconds := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: template.yaml says %s, the local stack %s", what, got, want)
		}
	}
	spec := func(name string) tableSpec {
		for _, s := range tables {
			if s.name == name {
				return s
			}
		}
		t.Fatalf("no local table %s", name)
		return tableSpec{}
	}

	// Queues and the QueueFunction's mapping.
	queue := node(res, "BroadcastQueue", "Properties")
	def := Config{}.withDefaults()
	check("BroadcastQueue VisibilityTimeout (the local default)", value(node(queue, "VisibilityTimeout")), seconds(def.VisibilityTimeout))
	check("BroadcastQueue VisibilityTimeout", value(node(queue, "VisibilityTimeout")), seconds(QueueVisibilityTimeout))
	check("BroadcastQueue maxReceiveCount", value(node(queue, "RedrivePolicy", "maxReceiveCount")), strconv.Itoa(MaxReceiveCount))
	check("BroadcastQueue MessageRetentionPeriod", value(node(queue, "MessageRetentionPeriod")), strconv.Itoa(queueRetention))
	check("DeadLetterQueue MessageRetentionPeriod", value(node(res, "DeadLetterQueue", "Properties", "MessageRetentionPeriod")), strconv.Itoa(dlqRetention))
	check("function Timeout", value(node(root, "Globals", "Function", "Timeout")), seconds(FunctionTimeout))
	sqsEv := node(res, "QueueFunction", "Properties", "Events", "Broadcasts", "Properties")
	check("SQS BatchSize", param(node(sqsEv, "BatchSize")), strconv.Itoa(def.SQS.BatchSize))
	check("SQS MaximumBatchingWindowInSeconds", param(node(sqsEv, "MaximumBatchingWindowInSeconds")), seconds(def.SQS.BatchingWindow))
	check("SQS FunctionResponseTypes", value(node(sqsEv, "FunctionResponseTypes").Content[0]), "ReportBatchItemFailures")

	// The stream mappings: the outbox's event and ModelTableStream.
	for _, m := range []struct {
		what  string
		props *yaml.Node
		table string
	}{
		{"Outbox event", node(res, "StreamFunction", "Properties", "Events", "Outbox", "Properties"), OutboxTable},
		{"ModelTableStream", node(res, "ModelTableStream", "Properties"), UsersTable},
	} {
		p := m.props
		check(m.what+" StartingPosition", value(node(p, "StartingPosition")), spec(m.table).startAt)
		check(m.what+" BatchSize", param(node(p, "BatchSize")), strconv.Itoa(def.Stream.BatchSize))
		check(m.what+" MaximumBatchingWindowInSeconds", param(node(p, "MaximumBatchingWindowInSeconds")), seconds(def.Stream.BatchingWindow))
		check(m.what+" MaximumRetryAttempts", param(node(p, "MaximumRetryAttempts")), strconv.Itoa(def.Stream.MaxRetryAttempts))
		check(m.what+" MaximumRecordAgeInSeconds", value(node(p, "MaximumRecordAgeInSeconds")), seconds(def.Stream.MaxRecordAge))
		check(m.what+" BisectBatchOnFunctionError", value(node(p, "BisectBatchOnFunctionError")), strconv.FormatBool(def.Stream.BisectOnError))
		check(m.what+" FunctionResponseTypes", value(node(p, "FunctionResponseTypes").Content[0]), "ReportBatchItemFailures")
		check(m.what+" on-failure destination", value(node(p, "DestinationConfig", "OnFailure", "Destination")), "DeadLetterQueue.Arn")
	}
	if d := value(node(root, "Parameters", "ModelTableStreamArn", "Description")); !strings.Contains(d, StreamViewType) {
		t.Errorf("ModelTableStreamArn's description %q does not ask for %s, the local Users table's view", d, StreamViewType)
	}

	// Tables.
	for _, tt := range []struct{ resource, table string }{{"OutboxTable", OutboxTable}, {"IdempotencyTable", IdempotencyTable}} {
		p := node(res, tt.resource, "Properties")
		s := spec(tt.table)
		check(tt.resource+" key", value(node(p, "KeySchema").Content[0].Content[1])+" "+value(node(node(p, "KeySchema").Content[0], "KeyType")), s.key+" HASH")
		check(tt.resource+" key type", value(node(node(p, "AttributeDefinitions").Content[0], "AttributeType")), s.keyType)
		check(tt.resource+" TTL attribute", value(node(p, "TimeToLiveSpecification", "AttributeName")), s.ttl)
		view := value(node(p, "StreamSpecification", "StreamViewType"))
		if s.stream {
			check(tt.resource+" stream", view, StreamViewType)
		} else {
			check(tt.resource+" stream", view, "<missing>")
		}
	}

	// The provider secret's keys.
	gen := node(res, "ProviderSecret", "Properties", "GenerateSecretString")
	var keys map[string]any
	if err := json.Unmarshal([]byte(value(node(gen, "SecretStringTemplate"))), &keys); err != nil {
		t.Fatal(err)
	}
	keys[value(node(gen, "GenerateStringKey"))] = ""
	check("ProviderSecret keys", sortedKeys(keys), sortedKeys(localSecretValues()))

	// Fan-in.
	check("BroadcastRule detail-type", value(node(res, "BroadcastRule", "Properties", "EventPattern", "detail-type").Content[0]), RuleDetailType)
	check("BroadcastTopicSubscription RawMessageDelivery", value(node(res, "BroadcastTopicSubscription", "Properties", "RawMessageDelivery")), "false")

	// Presence-aware delivery's resources.
	fq := node(res, "FallbackQueue", "Properties")
	check("FallbackQueue VisibilityTimeout", value(node(fq, "VisibilityTimeout")), seconds(QueueVisibilityTimeout))
	check("FallbackQueue MessageRetentionPeriod", value(node(fq, "MessageRetentionPeriod")), strconv.Itoa(queueRetention))
	check("FallbackQueue maxReceiveCount", value(node(fq, "RedrivePolicy", "maxReceiveCount")), strconv.Itoa(MaxReceiveCount))
	check("FallbackDeadLetterQueue MessageRetentionPeriod", value(node(res, "FallbackDeadLetterQueue", "Properties", "MessageRetentionPeriod")), strconv.Itoa(dlqRetention))
	pt := node(res, "PresenceTable", "Properties")
	check("PresenceTable TTL attribute", value(node(pt, "TimeToLiveSpecification", "AttributeName")), presence.TTLAttribute)
	var ptKeys []string
	for _, k := range node(pt, "KeySchema").Content {
		ptKeys = append(ptKeys, value(node(k, "AttributeName"))+" "+value(node(k, "KeyType")))
	}
	var localKeys []string
	for _, k := range presence.CreateInput(PresenceTable).KeySchema {
		localKeys = append(localKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	check("PresenceTable key schema", strings.Join(ptKeys, ", "), strings.Join(localKeys, ", "))

	// What a default stack created in moto.
	st := start(t, nil)
	ctx := context.Background()
	cfg := st.AWSConfig()
	q, err := sqs.NewFromConfig(cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(st.res.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	var redrive struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	json.Unmarshal([]byte(q.Attributes["RedrivePolicy"]), &redrive)
	check("moto: BroadcastQueue VisibilityTimeout", value(node(queue, "VisibilityTimeout")), q.Attributes["VisibilityTimeout"])
	check("moto: BroadcastQueue maxReceiveCount", value(node(queue, "RedrivePolicy", "maxReceiveCount")), jsonNumber(redrive.MaxReceiveCount))
	check("moto: BroadcastQueue MessageRetentionPeriod", value(node(queue, "MessageRetentionPeriod")), q.Attributes["MessageRetentionPeriod"])
	if redrive.DeadLetterTargetArn != st.res.DLQARN {
		t.Errorf("moto: redrive to %s, want the DLQ %s", redrive.DeadLetterTargetArn, st.res.DLQARN)
	}
	var policy struct {
		Statement []struct{ Principal struct{ Service string } }
	}
	json.Unmarshal([]byte(q.Attributes["Policy"]), &policy)
	var services []string
	for _, s := range policy.Statement {
		services = append(services, s.Principal.Service)
	}
	var want []string
	for _, s := range node(res, "BroadcastQueuePolicy", "Properties", "PolicyDocument", "Statement").Content {
		want = append(want, value(node(s, "Principal", "Service")))
	}
	sort.Strings(services)
	sort.Strings(want)
	check("moto: BroadcastQueuePolicy senders", sortedJoin(want), sortedJoin(services))

	fa, err := sqs.NewFromConfig(cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(st.res.FallbackURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	check("moto: FallbackQueue VisibilityTimeout", value(node(fq, "VisibilityTimeout")), fa.Attributes["VisibilityTimeout"])
	check("moto: FallbackQueue MessageRetentionPeriod", value(node(fq, "MessageRetentionPeriod")), fa.Attributes["MessageRetentionPeriod"])
	if !strings.Contains(fa.Attributes["RedrivePolicy"], FallbackDLQName) {
		t.Errorf("moto: FallbackQueue redrive %s, want to %s", fa.Attributes["RedrivePolicy"], FallbackDLQName)
	}
	pd, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(PresenceTable)})
	if err != nil {
		t.Fatal(err)
	}
	var motoKeys []string
	for _, k := range pd.Table.KeySchema {
		motoKeys = append(motoKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	check("moto: PresenceTable key schema", strings.Join(ptKeys, ", "), strings.Join(motoKeys, ", "))

	db := dynamodb.NewFromConfig(cfg)
	for _, s := range tables {
		d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.name)})
		if err != nil {
			t.Fatal(err)
		}
		tbl := d.Table
		check("moto: "+s.name+" key", aws.ToString(tbl.KeySchema[0].AttributeName)+" "+string(tbl.KeySchema[0].KeyType), s.key+" HASH")
		view := "<missing>"
		if tbl.StreamSpecification != nil && aws.ToBool(tbl.StreamSpecification.StreamEnabled) {
			view = string(tbl.StreamSpecification.StreamViewType)
		}
		if s.stream {
			check("moto: "+s.name+" stream", StreamViewType, view)
		}
		ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.name)})
		if err != nil {
			t.Fatal(err)
		}
		if s.ttl != "" {
			check("moto: "+s.name+" TTL", s.ttl+" ENABLED", aws.ToString(ttl.TimeToLiveDescription.AttributeName)+" "+string(ttl.TimeToLiveDescription.TimeToLiveStatus))
		}
	}
	subs, err := sns.NewFromConfig(cfg).ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(st.res.TopicARN)})
	if err != nil || len(subs.Subscriptions) != 1 {
		t.Fatalf("moto: topic subscriptions %v, %v", subs, err)
	}
	attrs, err := sns.NewFromConfig(cfg).GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: subs.Subscriptions[0].SubscriptionArn})
	if err != nil {
		t.Fatal(err)
	}
	check("moto: subscription", "sqs "+st.res.QueueARN+" false", aws.ToString(subs.Subscriptions[0].Protocol)+" "+aws.ToString(subs.Subscriptions[0].Endpoint)+" "+attrs.Attributes["RawMessageDelivery"])
}

func sortedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return sortedJoin(keys)
}

func sortedJoin(s []string) string {
	s = slices.Clone(s)
	sort.Strings(s)
	b, _ := json.Marshal(s)
	return string(b)
}

func jsonNumber(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.Itoa(int(v))
	case string:
		return v
	}
	return "<missing>"
}
