package stream

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
)

// FuzzToJSON: any attribute value converts to valid JSON or to an error,
// never a panic; numbers keep their exact text.
func FuzzToJSON(f *testing.F) {
	for _, name := range []string{"dynamodb-users-insert.json", "dynamodb-outbox-insert.json"} {
		b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(f), "events", "samples", name))
		if err != nil {
			f.Fatal(err)
		}
		var ev struct {
			Records []struct {
				Dynamodb struct {
					NewImage map[string]json.RawMessage
				} `json:"dynamodb"`
			}
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			f.Fatal(err)
		}
		for _, r := range ev.Records {
			for _, v := range r.Dynamodb.NewImage {
				f.Add([]byte(v))
			}
		}
	}
	f.Add([]byte(`{"N":"-0.0e+10"}`))
	f.Add([]byte(`{"L":[{"M":{"a":{"NS":["1","1e2"]}}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := ToJSON(raw)
		if err != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil || !json.Valid(out) {
			t.Fatalf("ToJSON(%s) gave %v, which does not marshal: %v", raw, v, err)
		}
		var probe map[string]json.RawMessage
		if json.Unmarshal(raw, &probe) == nil {
			if n, ok := probe["N"]; ok {
				var s string
				json.Unmarshal(n, &s)
				if string(out) != s {
					t.Fatalf("number %q became %s", s, out)
				}
			}
		}
	})
}
