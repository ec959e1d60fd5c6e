// Package metricstest checks EMF documents in tests: each line against the
// JSON Schema of the format (written from CloudWatch's public
// specification) and then read back with metrics.Parse.
package metricstest

import (
	"bytes"
	_ "embed"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/heraldrt/herald/shared/metrics"
)

//go:embed emf.schema.json
var schemaJSON []byte

var schema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("emf.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("emf.schema.json")
})

// Validate checks one EMF line against the schema and parses it.
func Validate(t testing.TB, line []byte) metrics.Parsed {
	t.Helper()
	s, err := schema()
	if err != nil {
		t.Fatalf("compiling the EMF schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		t.Fatalf("EMF line is not JSON: %v\n%s", err, line)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("EMF line does not follow the specification: %v\n%s", err, line)
	}
	p, err := metrics.Parse(line)
	if err != nil {
		t.Fatalf("%v\n%s", err, line)
	}
	return p
}

// Documents returns the EMF documents among output's lines (those with
// an _aws member), each validated and parsed.
func Documents(t testing.TB, output []byte) []metrics.Parsed {
	t.Helper()
	var out []metrics.Parsed
	for _, line := range strings.Split(string(output), "\n") {
		var probe map[string]jsontext.Value
		if json.Unmarshal([]byte(line), &probe) != nil || probe["_aws"] == nil {
			continue
		}
		out = append(out, Validate(t, []byte(line)))
	}
	return out
}

// One returns the one EMF document of output, failing otherwise.
func One(t testing.TB, output []byte) metrics.Parsed {
	t.Helper()
	docs := Documents(t, output)
	if len(docs) != 1 {
		t.Fatalf("%d EMF documents, want one per invocation; output:\n%s", len(docs), output)
	}
	return docs[0]
}
