package expr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
)

// The differential tests run each expression through cel-go, configured as
// herald's rules were before this package replaced it, and through Compile
// and Eval, and require the same outcome: the same value, or a failure on
// both sides. Constructs this package leaves out (Error.Unsupported) and
// runs that hit either side's cost limit are not compared.

// testVars are the variables of a rule with a pattern parameter {id}.
var testVars = []Var{{"user", MapOf(String, Dyn)}, {"channel", String}, {"kind", String}, {"id", String}}

const testClaims = `{
	"sub": "1", "name": "Alice", "email": "alice@example.com",
	"rooms": ["lobby", "ops"], "roles": ["admin", "dev"],
	"n": 1, "f": 1.5, "neg": -3, "big": 1e300, "huge": 1e19, "zero": 0,
	"admin": true, "off": false, "nul": null, "empty": "", "none": [],
	"mixed": [1, "a", true, null, 2.5],
	"nested": {"a": {"b": "c"}, "xs": [1, 2, 3]},
	"org": {"id": "acme", "teams": ["red", "blue"]}
}`

func celEnv(t testing.TB) *cel.Env {
	t.Helper()
	env, err := cel.NewEnv(
		cel.Variable("user", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("channel", cel.StringType),
		cel.Variable("kind", cel.StringType),
		cel.Variable("id", cel.StringType),
		ext.Strings(),
	)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

type outcome struct {
	val         any
	compileErr  error
	evalErr     error
	unsupported bool
	costly      bool
}

func (o outcome) String() string {
	switch {
	case o.compileErr != nil:
		return fmt.Sprintf("compile error (%v)", o.compileErr)
	case o.evalErr != nil:
		return fmt.Sprintf("evaluation error (%v)", o.evalErr)
	}
	return fmt.Sprintf("%T %#v", o.val, o.val)
}

func (o outcome) failed() bool { return o.compileErr != nil || o.evalErr != nil }

func runCEL(env *cel.Env, src string, vals map[string]any) outcome {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return outcome{compileErr: iss.Err()}
	}
	prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return outcome{compileErr: err}
	}
	out, _, err := prg.ContextEval(context.Background(), vals)
	if err != nil {
		return outcome{evalErr: err, costly: strings.Contains(err.Error(), "cost limit")}
	}
	v, err := fromCEL(out, 0)
	if err != nil {
		return outcome{evalErr: err}
	}
	return outcome{val: v}
}

func runHerald(src string, vals []any) outcome {
	p, err := Compile(src, testVars)
	if err != nil {
		var e *Error
		return outcome{compileErr: err, unsupported: errors.As(err, &e) && e.Unsupported}
	}
	v, err := p.Eval(context.Background(), vals)
	if err != nil {
		return outcome{evalErr: err, costly: errors.Is(err, ErrCostLimit)}
	}
	return outcome{val: v}
}

// fromCEL turns a cel-go result into this package's Go values.
func fromCEL(v ref.Val, depth int) (any, error) {
	if depth > 50 {
		return nil, errors.New("too deep")
	}
	switch x := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		return float64(x), nil
	case types.String:
		return string(x), nil
	}
	if m, ok := v.(traits.Mapper); ok {
		out := map[string]any{}
		for it := m.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map key of type %s", k.Type().TypeName())
			}
			val, err := fromCEL(m.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			out[string(ks)] = val
		}
		return out, nil
	}
	if l, ok := v.(traits.Lister); ok {
		out := []any{}
		for it := l.Iterator(); it.HasNext() == types.True; {
			val, err := fromCEL(it.Next(), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, val)
		}
		return out, nil
	}
	return nil, fmt.Errorf("result of type %s", v.Type().TypeName())
}

// same compares results exactly: same Go types, NaN equal to NaN.
func same(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !same(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, found := y[k]; !found || !same(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// differ says how herald's outcome h differs from cel-go's c, "" when they
// agree (or are not comparable). Where src may iterate over a map, lists
// compare in any order: cel-go follows Go's map order, this package sorts
// the keys.
func differ(src string, h, c outcome) string {
	switch {
	case h.unsupported, h.costly, c.costly:
		return ""
	case h.failed() && c.failed():
		return ""
	case h.failed() != c.failed():
		return fmt.Sprintf("herald: %v; cel-go: %v", h, c)
	case !same(h.val, c.val) && !(iteratesMap(src) && sameUnordered(h.val, c.val)):
		return fmt.Sprintf("herald: %v; cel-go: %v", h, c)
	}
	return ""
}

func claimsFrom(t testing.TB, doc string) map[string]any {
	var claims map[string]any
	if err := json.Unmarshal([]byte(doc), &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func compareBoth(t *testing.T, env *cel.Env, src string, claims map[string]any) (h, c outcome) {
	t.Helper()
	vals := map[string]any{"user": claims, "channel": "presence-chat.ops", "kind": "presence", "id": "1"}
	c = runCEL(env, src, vals)
	h = runHerald(src, []any{claims, vals["channel"], vals["kind"], vals["id"]})
	if d := differ(src, h, c); d != "" {
		t.Errorf("%s: %s", src, d)
	}
	return h, c
}
