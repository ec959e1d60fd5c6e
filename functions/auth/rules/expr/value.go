package expr

import (
	"cmp"
	"fmt"
	"math"
	"strings"
)

// norm turns a Go value from the caller (a claim) into one of the
// evaluator's: nil, bool, int64, uint64, float64, string, []any,
// map[string]any. Others are left alone; no operation accepts them.
func norm(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, uint64, float64, string, []any, map[string]any:
		return v
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint:
		return uint64(x)
	case uint32:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint8:
		return uint64(x)
	case float32:
		return float64(x)
	case []string:
		return anys(x)
	}
	return v
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// kindOf is the kind of one of the evaluator's values; ok is false for
// any other Go value.
func kindOf(v any) (k Kind, ok bool) {
	switch v.(type) {
	case nil:
		return KindNull, true
	case bool:
		return KindBool, true
	case int64:
		return KindInt, true
	case uint64:
		return KindUint, true
	case float64:
		return KindDouble, true
	case string:
		return KindString, true
	case []any:
		return KindList, true
	case map[string]any:
		return KindMap, true
	}
	return KindDyn, false
}

// TypeName names the type of a value Eval returned, as CEL does: "int",
// "string", "list", "map", "null_type", ...
func TypeName(v any) string {
	if k, ok := kindOf(v); ok {
		return kindNames[k]
	}
	return fmt.Sprintf("%T", v)
}

// equal is CEL's heterogeneous equality: numbers compare by value across
// int, uint and double; values of different types are unequal, not an
// error; lists and maps compare element by element.
// *n counts the values compared, so that the caller can charge for them.
func equal(a, b any, n *int) bool {
	*n++
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64, uint64, float64:
		c, ok := numCompare(a, b)
		return ok && c == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(norm(x[i]), norm(y[i]), n) {
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
			w, found := y[k]
			if !found || !equal(norm(v), norm(w), n) {
				return false
			}
		}
		return true
	}
	return false
}

// numCompare orders two numbers of any numeric types; ok is false when
// either is not a number or is NaN.
func numCompare(a, b any) (int, bool) {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, y), true
		case uint64:
			if x < 0 || y > math.MaxInt64 {
				return -1, true
			}
			return cmp.Compare(x, int64(y)), true
		}
	case uint64:
		if y, ok := b.(uint64); ok {
			return cmp.Compare(x, y), true
		}
	case float64:
		if math.IsNaN(x) {
			return 0, false
		}
		switch y := b.(type) {
		case float64:
			if math.IsNaN(y) {
				return 0, false
			}
			return cmp.Compare(x, y), true
		case int64:
			// As CEL does: out-of-range doubles order beyond every int,
			// the rest compare as doubles.
			switch {
			case x < math.MinInt64:
				return -1, true
			case x > math.MaxInt64:
				return 1, true
			}
			return cmp.Compare(x, float64(y)), true
		case uint64:
			switch {
			case x < 0:
				return -1, true
			case x > math.MaxUint64:
				return 1, true
			}
			return cmp.Compare(x, float64(y)), true
		}
		return 0, false
	}
	switch a.(type) {
	case int64, uint64:
		// The mixed pairs not ordered above, the other way round.
		c, ok := numCompare(b, a)
		return -c, ok
	}
	return 0, false
}

// ordered reports whether v is of a type that has an order: the kinds
// from bool to string.
func ordered(v any) bool {
	k, _ := kindOf(v)
	return k >= KindBool && k <= KindString
}

// compare orders bools, strings and numbers (across numeric types). The
// caller has dealt with NaN.
func compare(a, b any) (int, error) {
	switch x := a.(type) {
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, errNoOverload
		}
		switch { // false < true
		case x == y:
			return 0, nil
		case y:
			return -1, nil
		}
		return 1, nil
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, errNoOverload
		}
		return strings.Compare(x, y), nil
	case int64, uint64, float64:
		if c, ok := numCompare(a, b); ok {
			return c, nil
		}
	}
	return 0, errNoOverload
}

func isNaN(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}
