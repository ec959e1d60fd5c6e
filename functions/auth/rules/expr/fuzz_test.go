package expr

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzEval evaluates arbitrary expressions over arbitrary claims with both
// this package and cel-go and requires the same outcome (see differ). It
// also checks that Compile and Eval never panic, whatever the input.
func FuzzEval(f *testing.F) {
	for _, src := range differential {
		f.Add(src, testClaims)
	}
	f.Add(`user.a.exists(x, x.b == user.c)`, `{"a": [{"b": 1}, {"b": "1"}], "c": 1.0}`)
	f.Add(`user.x.map(k, k + user.x[k])`, `{"x": {"p": "q"}}`)
	env := celEnv(f)
	f.Fuzz(func(t *testing.T, src, doc string) {
		if len(src) > MaxLength || len(doc) > 16<<10 {
			return
		}
		var claims map[string]any
		if json.Unmarshal([]byte(doc), &claims) != nil || claims == nil {
			return
		}
		vals := map[string]any{"user": claims, "channel": "private-a.b", "kind": "private", "id": "b"}
		h := runHerald(src, []any{claims, vals["channel"], vals["kind"], vals["id"]})
		c := runCEL(env, src, vals)
		if d := differ(src, h, c); d != "" {
			t.Fatalf("%s over %s: %s", src, doc, d)
		}
	})
}

// iteratesMap reports whether src may build a list from a map's keys,
// whose order cel-go leaves to Go's map iteration and this package sorts.
func iteratesMap(src string) bool {
	return strings.Contains(src, "map(") || strings.Contains(src, "filter(")
}

// sameUnordered is same, except that lists, at any depth, may hold their
// elements in any order.
func sameUnordered(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		used := make([]bool, len(y))
	outer:
		for _, v := range x {
			for j, w := range y {
				if !used[j] && sameUnordered(v, w) {
					used[j] = true
					continue outer
				}
			}
			return false
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, found := y[k]; !found || !sameUnordered(v, w) {
				return false
			}
		}
		return true
	}
	return same(a, b)
}
