package rules

import (
	"fmt"
	"math"
	"strconv"

	"github.com/heraldrt/herald/functions/auth/rules/expr"
)

// maxDepth bounds the nesting of member info; Pusher's 1 KB limit on user
// info is far tighter in practice.
const maxDepth = 32

// idString turns a member id into the string Pusher wants. Whole numbers
// are accepted because many apps number their users; they are written in
// decimal, never in exponent form.
func idString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return "", fmt.Errorf("yields %v, which is not a whole number", x)
	}
	return "", fmt.Errorf("yields %s, want a string", expr.TypeName(v))
}

// native copies an evaluated value into plain Go values that
// encoding/json writes as the JSON they mean, refusing what JSON cannot
// hold. The copy keeps the member from sharing the claims' lists and maps.
func native(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	var err error
	switch x := v.(type) {
	case nil, bool, string, int64, uint64:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v cannot be written as JSON", x)
		}
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if out[k], err = native(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if out[i], err = native(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s cannot be written as JSON", expr.TypeName(v))
}
