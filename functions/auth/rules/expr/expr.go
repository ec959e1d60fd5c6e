package expr

import (
	"cmp"
	"context"
	"fmt"
)

// Error is an expression that does not compile: a syntax error, a type
// error, an unknown name, or a construct outside the language.
type Error struct {
	// Pos is the byte offset in the expression.
	Pos int
	Msg string
	// Unsupported is set when the expression is valid CEL that the
	// language leaves out (bytes, timestamps, optional syntax, ...).
	Unsupported bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("at offset %d: %s", e.Pos, e.Msg)
}

func errorAt(pos int, format string, args ...any) error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func unsupportedAt(pos int, format string, args ...any) error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Unsupported: true}
}

// Var declares a variable an expression may use.
type Var struct {
	Name string
	Type *Type
}

// CostLimit bounds one evaluation, in steps: one per node evaluated, one
// per element of a list or map built or searched, and a little per 64
// bytes of string handled. Conditions over a token's claims take a few
// dozen; the limit only stops loops over loops.
const CostLimit = 100_000

// MemoryLimit bounds what one evaluation allocates, in bytes, by default:
// the strings, lists and maps it builds and the patterns it compiles, each
// charged before it is built. 1 MiB is a thousand times what a rule over a
// token's claims builds, and small beside a 128 MB function.
const MemoryLimit = 1 << 20

// Budget bounds one evaluation. A zero field takes its default.
type Budget struct {
	// Steps defaults to CostLimit.
	Steps int
	// Bytes defaults to MemoryLimit.
	Bytes int
}

// Program is a compiled expression, safe for concurrent use.
type Program struct {
	root  *node
	nvars int
	slots int
}

// Compile parses and checks src. The expression may use vars and nothing
// else; their values are passed to Eval in the same order.
func Compile(src string, vars []Var) (*Program, error) {
	root, err := parse(src)
	if err != nil {
		return nil, err
	}
	c := &checker{nslots: len(vars)}
	for i, v := range vars {
		c.scope = append(c.scope, binding{name: v.Name, slot: i, typ: v.Type})
	}
	if err := c.check(root); err != nil {
		return nil, err
	}
	return &Program{root: root, nvars: len(vars), slots: c.nslots}, nil
}

// Type is the static type of the expression's result; Dyn when it depends
// on the values (a claim).
func (p *Program) Type() *Type { return p.root.typ }

// Eval evaluates the expression with vals, one per declared variable, in
// the order given to Compile. Values are nil, bool, int64, uint64,
// float64, string, []any and map[string]any (other integer and float
// types are accepted and widened); so is the result. Evaluation stops
// with ErrCostLimit when it exceeds CostLimit, with ErrMemoryLimit (which
// wraps ErrCostLimit) when it would allocate more than MemoryLimit, and
// with an error wrapping ctx.Err() when ctx is done; && and || never
// absorb those.
func (p *Program) Eval(ctx context.Context, vals []any) (any, error) {
	return p.EvalBudget(ctx, vals, Budget{})
}

// EvalBudget is Eval within budget instead of the default limits.
func (p *Program) EvalBudget(ctx context.Context, vals []any, budget Budget) (any, error) {
	if len(vals) != p.nvars {
		return nil, fmt.Errorf("expression takes %d variables, got %d", p.nvars, len(vals))
	}
	e := &evaluator{ctx: ctx, limit: cmp.Or(budget.Steps, CostLimit), maxBytes: cmp.Or(budget.Bytes, MemoryLimit), slots: vals}
	// The caller's slice is used as it is unless the macros need slots of
	// their own or a value needs widening; it is never written to.
	if p.slots != len(vals) || !normal(vals) {
		e.slots = make([]any, p.slots)
		for i, v := range vals {
			e.slots[i] = norm(v)
		}
	}
	v, err := e.eval(p.root)
	if e.abort != nil {
		return nil, e.abort
	}
	return v, err
}

func normal(vals []any) bool {
	for _, v := range vals {
		if _, ok := kindOf(v); !ok {
			return false
		}
	}
	return true
}
