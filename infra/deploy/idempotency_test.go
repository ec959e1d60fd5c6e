package deploy

import (
	"reflect"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/idempotency"
)

// idempotencyActions are all the DynamoDB calls shared/idempotency makes.
var idempotencyActions = []string{
	"dynamodb:BatchGetItem",
	"dynamodb:BatchWriteItem",
	"dynamodb:DeleteItem",
	"dynamodb:GetItem",
	"dynamodb:PutItem",
}

// TestIdempotencyActionsAreTheStoresCalls ties the grant to the code: the
// store reaches DynamoDB only through idempotency.API, one method per
// action, so a call added there without its action here fails.
func TestIdempotencyActionsAreTheStoresCalls(t *testing.T) {
	api := reflect.TypeFor[idempotency.API]()
	var calls []string
	for m := range api.Methods() {
		calls = append(calls, "dynamodb:"+m.Name)
	}
	slices.Sort(calls)
	if !slices.Equal(calls, idempotencyActions) {
		t.Fatalf("idempotency.API calls %v; the grant allows %v", calls, idempotencyActions)
	}
}

func TestIdempotencyTable(t *testing.T) {
	tpl := open(t)
	table, err := tpl.GetDynamoDBTableWithName("IdempotencyTable")
	if err != nil {
		t.Fatal(err)
	}
	if table.BillingMode == nil || *table.BillingMode != "PAY_PER_REQUEST" {
		t.Errorf("IdempotencyTable BillingMode = %v, want PAY_PER_REQUEST", table.BillingMode)
	}
	if ttl := table.TimeToLiveSpecification; ttl == nil || ttl.AttributeName == nil || *ttl.AttributeName != "expiration" || !ttl.Enabled {
		t.Errorf("IdempotencyTable TimeToLiveSpecification = %+v, want enabled on expiration", ttl)
	}
	if len(table.KeySchema) != 1 || table.KeySchema[0].AttributeName != "id" || table.KeySchema[0].KeyType != "HASH" {
		t.Errorf("IdempotencyTable KeySchema = %+v, want id HASH", table.KeySchema)
	}
	if len(table.AttributeDefinitions) != 1 || table.AttributeDefinitions[0].AttributeType != "S" {
		t.Errorf("IdempotencyTable AttributeDefinitions = %+v, want id of type S", table.AttributeDefinitions)
	}
	if table.SSESpecification == nil || !table.SSESpecification.SSEEnabled {
		t.Errorf("IdempotencyTable is not encrypted at rest")
	}

	res := get(testkit.Template(t), "Resources")
	for fn := range functions {
		env := get(res, fn, "Properties", "Environment", "Variables", "IDEMPOTENCY_TABLE")
		actions, resource := idempotencyGrant(get(res, fn, "Properties", "Policies"))
		if fn == "AuthFunction" || fn == "WebhookFunction" {
			if env != nil || actions != nil {
				t.Errorf("%s broadcasts nothing and needs no idempotency table", fn)
			}
			continue
		}
		if env == nil || env.Tag != "!Ref" || env.Value != "IdempotencyTable" {
			t.Errorf("%s: IDEMPOTENCY_TABLE is not !Ref IdempotencyTable", fn)
		}
		slices.Sort(actions)
		if !slices.Equal(actions, idempotencyActions) || resource != "IdempotencyTable.Arn" {
			t.Errorf("%s: idempotency grant = %v on %q, want exactly %v on IdempotencyTable.Arn", fn, actions, resource, idempotencyActions)
		}
	}
}

// idempotencyGrant finds the policy statement on the idempotency table and
// returns its actions and resource.
func idempotencyGrant(policies *yaml.Node) (actions []string, resource string) {
	if policies == nil {
		return nil, ""
	}
	for _, p := range policies.Content {
		sts := get(p, "Statement")
		if sts == nil {
			continue
		}
		for _, st := range sts.Content {
			r := get(st, "Resource")
			if r == nil || r.Tag != "!GetAtt" || r.Value != "IdempotencyTable.Arn" {
				continue
			}
			return scalars(get(st, "Action")), r.Value
		}
	}
	return nil, ""
}
