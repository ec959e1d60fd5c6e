package expr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
)

// evaluator walks a checked tree. Errors are ordinary Go errors, except
// that && and || absorb them as CEL does; abort (the cost limit, a
// cancelled context) ends the whole evaluation.
type evaluator struct {
	ctx   context.Context
	slots []any
	steps int
	limit int
	// bytes counts what the evaluation has allocated, maxBytes bounds it.
	bytes, maxBytes int
	abort           error
}

// ErrCostLimit is the error of an evaluation stopped by its budget: its
// steps, or (ErrMemoryLimit, which wraps it) its memory.
var ErrCostLimit = errors.New("evaluation exceeds its cost limit")

// ErrMemoryLimit is the error of an evaluation that would allocate more
// than its memory budget.
var ErrMemoryLimit = fmt.Errorf("%w: it would allocate more than its memory limit", ErrCostLimit)

func (e *evaluator) charge(n int) {
	e.steps += n
	if e.steps > e.limit && e.abort == nil {
		e.abort = ErrCostLimit
	}
}

// Sizes charged for what a builtin builds, on a 64-bit machine: an element
// of a list (an interface value), an entry of a map (its key's string
// header, its value, and the map's own overhead per entry).
const (
	valueBytes = 16
	entryBytes = 64
)

// alloc charges n bytes that the caller is about to allocate, and reports
// whether the budget (steps and memory) still allows it; when it does
// not, the caller allocates nothing and returns e.abort. Every builtin
// that builds a string, list, map or pattern calls it first, with a size
// computed from its inputs, so an expression stops at its limit rather
// than after building a result too big for the function's memory.
func (e *evaluator) alloc(n int) bool {
	if n < 0 || n > e.maxBytes-e.bytes {
		e.bytes = e.maxBytes + 1
		if e.abort == nil {
			e.abort = ErrMemoryLimit
		}
	} else {
		e.bytes += n
	}
	return e.abort == nil
}

func (e *evaluator) eval(n *node) (any, error) {
	e.charge(1)
	if e.abort != nil {
		return nil, e.abort
	}
	switch n.op {
	case opLit:
		return n.val, nil
	case opIdent:
		return e.slots[n.slot], nil
	case opList:
		if !e.alloc(len(n.args) * valueBytes) {
			return nil, e.abort
		}
		out := make([]any, len(n.args))
		var err error
		for i, a := range n.args {
			if out[i], err = e.eval(a); err != nil {
				return nil, err
			}
		}
		e.charge(len(out))
		return out, nil
	case opMap:
		return e.evalMap(n)
	case opSelect, opHas:
		v, err := e.eval(n.args[0])
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			if _, isList := v.([]any); n.op == opHas && !isList {
				// cel-go answers false for a field test on a scalar, and
				// fails on a list.
				return false, nil
			}
			return nil, fmt.Errorf("type '%s' does not support field selection", TypeName(v))
		}
		f, found := m[n.name]
		if n.op == opHas {
			return found, nil
		}
		if !found {
			return nil, fmt.Errorf("no such key: %s", n.name)
		}
		return norm(f), nil
	case opNot:
		b, err := e.predicate(n.args[0])
		if err != nil {
			return nil, err
		}
		return !b, nil
	case opNeg:
		v, err := e.eval(n.args[0])
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case int64:
			return intArith("-", 0, x)
		case float64:
			return -x, nil
		}
		return nil, errNoOverload
	case opAnd, opOr:
		return e.evalLogic(n)
	case opCond:
		b, err := e.predicate(n.args[0])
		if err != nil {
			return nil, err
		}
		if b {
			return e.eval(n.args[1])
		}
		return e.eval(n.args[2])
	case opIndex, opBinary:
		l, err := e.eval(n.args[0])
		if err != nil {
			return nil, err
		}
		r, err := e.eval(n.args[1])
		if err != nil {
			return nil, err
		}
		if n.op == opIndex {
			return index(l, r)
		}
		return e.binary(n.name, l, r)
	case opCall:
		a := [4]any{absent, absent, absent, absent}
		for i, arg := range n.args {
			v, err := e.eval(arg)
			if err != nil {
				return nil, err
			}
			a[i] = v
		}
		return n.fn.eval(e, a[0], a[1], a[2], a[3])
	case opLoop:
		return e.evalLoop(n)
	}
	return nil, fmt.Errorf("internal error: unknown node %d", n.op)
}

func (e *evaluator) evalMap(n *node) (any, error) {
	if !e.alloc(len(n.args) / 2 * entryBytes) {
		return nil, e.abort
	}
	out := make(map[string]any, len(n.args)/2)
	for i := 0; i < len(n.args); i += 2 {
		k, err := e.eval(n.args[i])
		if err != nil {
			return nil, err
		}
		v, err := e.eval(n.args[i+1])
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("map keys must be strings, not %s", TypeName(k))
		}
		out[ks] = v // a repeated key keeps its last value, as in cel-go
	}
	e.charge(len(out))
	return out, nil
}

// evalLogic is CEL's && and ||: a false (for &&) or true (for ||) on
// either side decides, even when the other side is an error.
func (e *evaluator) evalLogic(n *node) (any, error) {
	decisive := n.op == opOr
	l, lerr := e.eval(n.args[0])
	if b, ok := l.(bool); ok && lerr == nil && b == decisive {
		return decisive, nil
	}
	if e.abort != nil {
		return nil, e.abort
	}
	r, rerr := e.eval(n.args[1])
	if b, ok := r.(bool); ok && rerr == nil && b == decisive {
		return decisive, nil
	}
	switch {
	case e.abort != nil:
		return nil, e.abort
	case lerr != nil:
		return nil, lerr
	case rerr != nil:
		return nil, rerr
	}
	_, lok := l.(bool)
	_, rok := r.(bool)
	if !lok || !rok {
		return nil, errNoOverload
	}
	return !decisive, nil
}

func (e *evaluator) evalLoop(n *node) (any, error) {
	target, err := e.eval(n.args[0])
	if err != nil {
		return nil, err
	}
	var items []any
	switch t := target.(type) {
	case []any:
		items = t
	case map[string]any:
		// Keys in order, so a result never depends on Go's map order.
		if !e.alloc(len(t) * (valueBytes + 16)) {
			return nil, e.abort
		}
		items = anys(slices.Sorted(maps.Keys(t)))
	default:
		return nil, errNoOverload
	}
	body := n.args[len(n.args)-1]
	if n.name == "all" || n.name == "exists" {
		// all is a chain of &&, exists of ||: a decisive result ends the
		// loop, an error is kept unless a decisive result follows.
		decisive := n.name == "exists"
		var kept error
		for i, it := range items {
			if err := e.tick(i); err != nil {
				return nil, err
			}
			e.slots[n.slot] = it
			v, err := e.eval(body)
			if e.abort != nil {
				return nil, e.abort
			}
			b, ok := v.(bool)
			switch {
			case err == nil && ok && b == decisive:
				return decisive, nil
			case err != nil && kept == nil:
				kept = err
			case err == nil && !ok && kept == nil:
				kept = errNoOverload
			}
		}
		if kept != nil {
			return nil, kept
		}
		return !decisive, nil
	}
	// exists_one counts the items that pass; map and filter build a list.
	out, count := []any{}, 0
	for i, it := range items {
		if err := e.tick(i); err != nil {
			return nil, err
		}
		e.slots[n.slot] = it
		if n.name != "map" || len(n.args) == 3 {
			ok, err := e.predicate(n.args[1])
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		if n.name == "exists_one" {
			count++
			continue
		}
		v := it
		if n.name == "map" {
			var err error
			if v, err = e.eval(body); err != nil {
				return nil, err
			}
		}
		// Twice the element: append's growth copies the list as it goes.
		if !e.alloc(2 * valueBytes) {
			return nil, e.abort
		}
		out = append(out, v)
		e.charge(1)
	}
	if n.name == "exists_one" {
		return count == 1, nil
	}
	return out, nil
}

func (e *evaluator) predicate(n *node) (bool, error) {
	v, err := e.eval(n)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, errNoOverload
	}
	return b, nil
}

// tick is called once per loop iteration: it notices a cancelled request
// every 100 iterations, as cel-go's interrupt check did.
func (e *evaluator) tick(i int) error {
	if i%100 == 99 {
		if err := e.ctx.Err(); err != nil {
			e.abort = fmt.Errorf("evaluation stopped: %w", err)
		}
	}
	return e.abort
}

func index(v, i any) (any, error) {
	switch c := v.(type) {
	case []any:
		var at int64
		switch x := i.(type) {
		case int64:
			at = x
		case uint64:
			if x > math.MaxInt64 {
				return nil, fmt.Errorf("index out of bounds: %d", x)
			}
			at = int64(x)
		case float64:
			if x != math.Trunc(x) || math.IsInf(x, 0) || x < math.MinInt64 || x >= math.MaxInt64 {
				return nil, fmt.Errorf("unsupported index value %v in list", x)
			}
			at = int64(x)
		default:
			return nil, errNoOverload
		}
		if at < 0 || at >= int64(len(c)) {
			return nil, fmt.Errorf("index out of bounds: %d", at)
		}
		return norm(c[at]), nil
	case map[string]any:
		k, ok := i.(string)
		f, found := c[k]
		if !ok || !found {
			return nil, fmt.Errorf("no such key: %v", i)
		}
		return norm(f), nil
	}
	return nil, errNoOverload
}

func (e *evaluator) binary(op string, l, r any) (any, error) {
	switch op {
	case "==":
		return e.equal(l, r), nil
	case "!=":
		return !e.equal(l, r), nil
	case "<", "<=", ">", ">=":
		if !ordered(l) {
			return nil, errNoOverload
		}
		if isNaN(l) || isNaN(r) {
			// As in cel-go, NaN is neither less, equal nor greater than
			// anything, even a value of another type.
			return false, nil
		}
		c, err := compare(l, r)
		if err != nil {
			return nil, err
		}
		switch op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "in":
		switch c := r.(type) {
		case []any:
			for _, x := range c {
				if e.equal(l, norm(x)) {
					return true, nil
				}
			}
			return false, nil
		case map[string]any:
			k, ok := l.(string)
			if !ok {
				return false, nil
			}
			_, found := c[k]
			return found, nil
		}
		return nil, errNoOverload
	case "+":
		switch x := l.(type) {
		case string:
			y, ok := r.(string)
			if !ok {
				return nil, errNoOverload
			}
			e.charge((len(x) + len(y)) / 64)
			if !e.alloc(len(x) + len(y)) {
				return nil, e.abort
			}
			return x + y, nil
		case []any:
			y, ok := r.([]any)
			if !ok {
				return nil, errNoOverload
			}
			e.charge(len(x) + len(y))
			if !e.alloc((len(x) + len(y)) * valueBytes) {
				return nil, e.abort
			}
			out := make([]any, 0, len(x)+len(y))
			return append(append(out, x...), y...), nil
		}
	}
	return arith(op, l, r)
}

// equal is CEL's equality (see the function equal), charged one step
// per value compared and one per 64 bytes of string.
func (e *evaluator) equal(a, b any) bool {
	n := 0
	eq := equal(a, b, &n)
	if s, ok := a.(string); ok {
		n += len(s) / 64
	}
	e.charge(n)
	return eq
}

func arith(op string, l, r any) (any, error) {
	switch x := l.(type) {
	case int64:
		if y, ok := r.(int64); ok {
			return intArith(op, x, y)
		}
	case uint64:
		if y, ok := r.(uint64); ok {
			return uintArith(op, x, y)
		}
	case float64:
		if y, ok := r.(float64); ok {
			switch op {
			case "+":
				return x + y, nil
			case "-":
				return x - y, nil
			case "*":
				return x * y, nil
			case "/":
				return x / y, nil
			}
		}
	}
	return nil, errNoOverload
}

func intArith(op string, x, y int64) (any, error) {
	switch op {
	case "+":
		s := x + y
		if (s > x) != (y > 0) {
			return nil, errIntOverflow
		}
		return s, nil
	case "-":
		d := x - y
		if (d < x) != (y > 0) {
			return nil, errIntOverflow
		}
		return d, nil
	case "*":
		if x == 0 || y == 0 {
			return int64(0), nil
		}
		p := x * y
		if (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) || p/y != x {
			return nil, errIntOverflow
		}
		return p, nil
	case "/", "%":
		if x == math.MinInt64 && y == -1 {
			return nil, errIntOverflow
		}
		return divide(op, x, y)
	}
	return nil, errNoOverload
}

func uintArith(op string, x, y uint64) (any, error) {
	switch op {
	case "+":
		s, carry := bits.Add64(x, y, 0)
		if carry != 0 {
			return nil, errUintOverflow
		}
		return s, nil
	case "-":
		if y > x {
			return nil, errUintOverflow
		}
		return x - y, nil
	case "*":
		hi, lo := bits.Mul64(x, y)
		if hi != 0 {
			return nil, errUintOverflow
		}
		return lo, nil
	case "/", "%":
		return divide(op, x, y)
	}
	return nil, errNoOverload
}

// divide is / or % on integers; a zero divisor is an error.
func divide[T int64 | uint64](op string, x, y T) (any, error) {
	switch {
	case y == 0 && op == "/":
		return nil, errors.New("division by zero")
	case y == 0:
		return nil, errors.New("modulus by zero")
	case op == "/":
		return x / y, nil
	}
	return x % y, nil
}
