package stream

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestToJSON(t *testing.T) {
	cases := []struct {
		name, in, want, err string
	}{
		{"string", `{"S":"a\"b"}`, `"a\"b"`, ""},
		{"exact big integer", `{"N":"123456789012345678901234567890123456"}`, `123456789012345678901234567890123456`, ""},
		{"decimal kept as written", `{"N":"0.1000000000000000055511151231257827"}`, `0.1000000000000000055511151231257827`, ""},
		{"negative exponent", `{"N":"-1E-130"}`, `-1E-130`, ""},
		{"bool", `{"BOOL":false}`, `false`, ""},
		{"null", `{"NULL":true}`, `null`, ""},
		{"binary stays base64", `{"B":"AAEC"}`, `"AAEC"`, ""},
		{"string set sorted", `{"SS":["b","a"]}`, `["a","b"]`, ""},
		{"number set sorted by value", `{"NS":["10","9","-1.5"]}`, `[-1.5,9,10]`, ""},
		{"binary set", `{"BS":["AA==","AQ=="]}`, `["AA==","AQ=="]`, ""},
		{"nested", `{"M":{"l":{"L":[{"N":"1"},{"M":{"x":{"S":"y"}}}]}}}`, `{"l":[1,{"x":"y"}]}`, ""},
		{"hex is not a number", `{"N":"0x10"}`, "", `N: "0x10" is not a number`},
		{"NaN", `{"N":"NaN"}`, "", "is not a number"},
		{"spaces", `{"N":" 1"}`, "", "is not a number"},
		{"trailing space", `{"N":"1 "}`, "", "is not a number"},
		{"leading zero", `{"N":"01"}`, "", "is not a number"},
		{"bare point", `{"N":"1."}`, "", "is not a number"},
		{"plus sign", `{"N":"+1"}`, "", "is not a number"},
		{"empty number", `{"N":""}`, "", "is not a number"},
		{"bad base64", `{"B":"!!"}`, "", "B: is not valid base64"},
		{"two types", `{"S":"a","N":"1"}`, "", "exactly one type key"},
		{"unknown type", `{"X":1}`, "", `unknown attribute type "X"`},
		{"not an object", `[1]`, "", "not a JSON object"},
		{"nested error has its path", `{"M":{"a":{"L":[{"N":"x"}]}}}`, "", `a.L[0]: N: "x" is not a number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := ToJSON(json.RawMessage(c.in))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(v)
			if string(got) != c.want {
				t.Fatalf("ToJSON = %s, want %s", got, c.want)
			}
		})
	}
}

func TestTables(t *testing.T) {
	cases := []struct{ name, yaml, err string }{
		{"ok", "Users: {mode: model, model: User}\nOutbox: {mode: outbox}", ""},
		{"unknown key", "Users: {mode: model, model: User, hiden: [password]}", "field hiden not found"},
		{"model without model", "Users: {mode: model}", `needs "model"`},
		{"bad mode", "Users: {mode: mirror}", `mode "mirror"`},
		{"outbox with hidden", "Outbox: {mode: outbox, hidden: [x]}", "outbox mode takes no"},
		{"empty placeholder", "Users: {mode: model, model: User, channels: ['private-{}']}", "empty placeholder"},
		{"empty", "", "no tables configured"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseTables([]byte(c.yaml))
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("err = %v, want %q", err, c.err)
			}
		})
	}
	if name, ok := TableName("arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2026-11-18T20:00:00.000"); !ok || name != "Users" {
		t.Fatalf("TableName = %q %v", name, ok)
	}
	if _, ok := TableName("arn:aws:sqs:us-east-1:1:q"); ok {
		t.Fatal("TableName accepted an SQS ARN")
	}
}
