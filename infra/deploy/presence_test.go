package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/presence"
)

// The presence table is the one shared/presence reads and writes; the
// WebhookFunction writes it and the bus and nothing else; the delivering
// functions may read occupancy and send fallbacks, and nothing more.
func TestPresenceTableAndWebhookFunction(t *testing.T) {
	tpl := open(t)
	table, err := tpl.GetDynamoDBTableWithName("PresenceTable")
	if err != nil {
		t.Fatal(err)
	}
	want := presence.CreateInput("x")
	if len(table.KeySchema) != len(want.KeySchema) {
		t.Fatalf("PresenceTable KeySchema = %+v", table.KeySchema)
	}
	for i, k := range want.KeySchema {
		if table.KeySchema[i].AttributeName != aws.ToString(k.AttributeName) || table.KeySchema[i].KeyType != string(k.KeyType) {
			t.Errorf("PresenceTable KeySchema[%d] = %+v, want %s %s", i, table.KeySchema[i], aws.ToString(k.AttributeName), k.KeyType)
		}
	}
	if ttl := table.TimeToLiveSpecification; ttl == nil || aws.ToString(ttl.AttributeName) != presence.TTLAttribute || !ttl.Enabled {
		t.Errorf("PresenceTable TTL = %+v, want enabled on %s", ttl, presence.TTLAttribute)
	}

	res := get(testkit.Template(t), "Resources")
	fn := get(res, "WebhookFunction", "Properties")
	for v, ref := range map[string]string{"PRESENCE_TABLE": "PresenceTable", "HERALD_EVENT_BUS": "EventBus"} {
		if n := get(fn, "Environment", "Variables", v); n == nil || n.Tag != "!Ref" || n.Value != ref {
			t.Errorf("WebhookFunction %s is not !Ref %s", v, ref)
		}
	}
	pol := nodeText(get(fn, "Policies"))
	for _, s := range []string{"dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem", "PresenceTable.Arn", "EventBridgePutEventsPolicy", "EventBusName: !Ref EventBus"} {
		if !strings.Contains(pol, s) {
			t.Errorf("WebhookFunction policies lack %q:\n%s", s, pol)
		}
	}
	for _, s := range []string{"dynamodb:DeleteItem", "dynamodb:Scan", "sqs:"} {
		if strings.Contains(pol, s) {
			t.Errorf("WebhookFunction policies grant %q, which it never uses", s)
		}
	}

	roles := scalars(get(res, "UnoccupiedDeliveryPolicy", "Properties", "Roles"))
	slices.Sort(roles)
	if !slices.Equal(roles, []string{"PublishFunctionRole", "QueueFunctionRole", "StreamFunctionRole"}) {
		t.Errorf("UnoccupiedDeliveryPolicy roles = %v", roles)
	}
	doc := nodeText(get(res, "UnoccupiedDeliveryPolicy", "Properties", "PolicyDocument"))
	for _, s := range []string{"dynamodb:BatchGetItem", "PresenceTable.Arn", "sqs:SendMessage", "FallbackQueue.Arn"} {
		if !strings.Contains(doc, s) {
			t.Errorf("UnoccupiedDeliveryPolicy lacks %q", s)
		}
	}

	q, err := tpl.GetSQSQueueWithName("FallbackQueue")
	if err != nil {
		t.Fatal(err)
	}
	redrive, _ := q.RedrivePolicy.(map[string]interface{})
	if redrive["deadLetterTargetArn"] != "getatt:FallbackDeadLetterQueue.Arn" {
		t.Errorf("FallbackQueue RedrivePolicy = %v, want its DLQ", redrive)
	}
	outs := get(testkit.Template(t), "Outputs")
	for _, o := range []string{"PusherWebhookUrl", "AblyWebhookUrl", "EventBusName", "FallbackQueueUrl", "PresenceTableName"} {
		if get(outs, o) == nil {
			t.Errorf("no output %s", o)
		}
	}
}
