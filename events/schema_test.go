package events

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("envelope.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("envelope.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("envelope.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The schema and the Go code agree on every table case, except where the
// case says only the code can decide.
func TestSchemaAgreesWithDecoder(t *testing.T) {
	s := compileSchema(t)
	for _, c := range envelopeCases {
		t.Run(c.name, func(t *testing.T) {
			goAccepts := c.err == ""
			wantSchema := goAccepts
			if c.schema != nil {
				wantSchema = *c.schema
			}
			var schemaAccepts bool
			if doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(c.body))); err == nil {
				schemaAccepts = s.Validate(doc) == nil
			}
			if schemaAccepts != wantSchema {
				t.Fatalf("schema accepts = %v, want %v (Go: %v)", schemaAccepts, wantSchema, c.err)
			}
		})
	}
}

// Every JSON field of the Go types is a property of the schema and the
// other way round, so neither can gain a field alone.
func TestSchemaPropertiesMatchGoTypes(t *testing.T) {
	raw, err := os.ReadFile("envelope.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	keys := func(m any) []string {
		var out []string
		for _, k := range reflect.ValueOf(m).MapKeys() {
			out = append(out, k.String())
		}
		sort.Strings(out)
		return out
	}
	cases := []struct {
		def    string
		nested string
		typ    any
	}{
		{"envelope", "", Envelope{}},
		{"batch", "", Batch{}},
		{"notification", "", Notification{}},
		{"notification", "notification", NotificationBody{}},
	}
	for _, c := range cases {
		props := schema.Defs[c.def].Properties
		var got []string
		if c.nested == "" {
			got = keys(props)
		} else {
			got = keys(props[c.nested].Properties)
		}
		want := jsonFields(reflect.TypeOf(c.typ))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s %s: schema properties %v, Go fields %v", c.def, c.nested, got, want)
		}
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
