package expr

import (
	"regexp"
	"strings"
)

// checker resolves names to slots, expands macros and gives every node a
// static type, refusing what can never evaluate (CEL's type checker does
// the same for these constructs).
type checker struct {
	scope  []binding
	nslots int
}

type binding struct {
	name string
	slot int
	typ  *Type
}

func (c *checker) lookup(name string) (binding, bool) {
	for i := len(c.scope) - 1; i >= 0; i-- {
		if c.scope[i].name == name {
			return c.scope[i], true
		}
	}
	return binding{}, false
}

func noOverload(n *node, name string, args ...*Type) error {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.String()
	}
	return errorAt(n.pos, "found no matching overload for '%s' applied to '(%s)'", name, strings.Join(names, ", "))
}

func (c *checker) check(n *node) error {
	switch n.op {
	case opList, opSelect, opIndex, opNot, opNeg, opCond, opBinary:
		// Operands first; a map, && and || check each operand in turn.
		if err := c.checkAll(n.args); err != nil {
			return err
		}
	}
	switch n.op {
	case opLit:
		k, _ := kindOf(n.val)
		n.typ = scalars[k]
	case opIdent:
		b, ok := c.lookup(n.name)
		if !ok {
			return errorAt(n.pos, "undeclared reference to '%s'", n.name)
		}
		n.slot, n.typ = b.slot, b.typ
	case opList:
		n.typ = ListOf(join(typesOf(n.args)))
	case opMap:
		var ks, vs []*Type
		for i, a := range n.args {
			if err := c.check(a); err != nil {
				return err
			}
			if i%2 == 1 {
				vs = append(vs, a.typ)
				continue
			}
			if !a.typ.is(KindString, KindDyn) {
				return unsupportedAt(a.pos, "map keys of type %s are not supported, only strings", a.typ)
			}
			ks = append(ks, a.typ)
		}
		n.typ = MapOf(join(ks), join(vs))
	case opSelect:
		var err error
		n.typ, err = selectType(n, n.args[0].typ)
		return err
	case opIndex:
		return c.checkIndex(n)
	case opNot:
		if !n.args[0].typ.is(KindBool, KindDyn) {
			return noOverload(n, "!_", n.args[0].typ)
		}
		n.typ = Bool
	case opNeg:
		t := n.args[0].typ
		if !t.is(KindInt, KindDouble, KindDyn) {
			return noOverload(n, "-_", t)
		}
		n.typ = t
	case opAnd, opOr:
		for _, a := range n.args {
			if err := c.check(a); err != nil {
				return err
			}
			if !a.typ.is(KindBool, KindDyn) {
				return errorAt(a.pos, "expected type 'bool' but found '%s'", a.typ)
			}
		}
		n.typ = Bool
	case opCond:
		if _, ok := unify(n.args[1].typ, n.args[2].typ); !ok || !n.args[0].typ.is(KindBool, KindDyn) {
			return noOverload(n, "_?_:_", typesOf(n.args)...)
		}
		n.typ = general(n.args[1].typ, n.args[2].typ)
	case opBinary:
		return c.checkBinary(n)
	case opCall:
		return c.checkCall(n)
	}
	return nil
}

func selectType(n *node, t *Type) (*Type, error) {
	switch {
	case t.Kind == KindDyn:
		return Dyn, nil
	case t.Kind == KindMap && t.Key.is(KindString, KindDyn):
		return t.Elem, nil
	}
	return nil, errorAt(n.pos, "type '%s' does not support field selection", t)
}

func (c *checker) checkAll(args []*node) error {
	for _, a := range args {
		if err := c.check(a); err != nil {
			return err
		}
	}
	return nil
}

func typesOf(args []*node) []*Type {
	ts := make([]*Type, len(args))
	for i, a := range args {
		ts[i] = a.typ
	}
	return ts
}

func (c *checker) checkIndex(n *node) error {
	t, i := n.args[0].typ, n.args[1].typ
	if i.Kind == KindNull && n.args[1].op == opLit {
		return errorAt(n.args[1].pos, "invalid qualifier type: null")
	}
	switch t.Kind {
	case KindDyn:
		n.typ = Dyn
		return nil
	case KindList:
		if i.is(KindInt, KindDyn) {
			n.typ = t.Elem
			return nil
		}
	case KindMap:
		if _, ok := unify(i, t.Key); ok {
			n.typ = t.Elem
			return nil
		}
	}
	return noOverload(n, "_[_]", t, i)
}

// binaryOp is a binary operator's CEL name and the kinds its operands,
// unified, may have (any when nil; dyn always fits). A comparison yields
// bool, the others their operands' type.
type binaryOp struct {
	cel        string
	kinds      []Kind
	comparison bool
}

// Null passes for a timestamp or duration in cel-go's checker wherever
// those may be (evaluating fails), hence KindNull below.
var binaryOps = map[string]binaryOp{
	"==": {"_==_", nil, true}, "!=": {"_!=_", nil, true},
	"<": {"_<_", orderedKinds, true}, "<=": {"_<=_", orderedKinds, true},
	">": {"_>_", orderedKinds, true}, ">=": {"_>=_", orderedKinds, true},
	"in": {"@in", nil, true},
	"+":  {"_+_", []Kind{KindInt, KindUint, KindDouble, KindString, KindList, KindNull}, false},
	"-":  {"_-_", []Kind{KindInt, KindUint, KindDouble, KindNull}, false},
	"*":  {"_*_", []Kind{KindInt, KindUint, KindDouble}, false},
	"/":  {"_/_", []Kind{KindInt, KindUint, KindDouble}, false},
	"%":  {"_%_", []Kind{KindInt, KindUint}, false},
}

var orderedKinds = []Kind{KindBool, KindInt, KindUint, KindDouble, KindString, KindNull}

// members is the type of what a list or map holds as in and the macros
// see it: a list's elements, a map's keys.
func members(t *Type) (*Type, bool) {
	switch t.Kind {
	case KindList:
		return t.Elem, true
	case KindMap:
		return t.Key, true
	}
	return Dyn, t.Kind == KindDyn
}

func (c *checker) checkBinary(n *node) error {
	o := binaryOps[n.name]
	l, r := n.args[0].typ, n.args[1].typ
	other, holds := r, true
	if n.name == "in" {
		other, holds = members(r)
	}
	t, ok := unify(l, other)
	switch {
	case !ok || !holds || o.kinds != nil && t.Kind != KindDyn && !t.is(o.kinds...):
		return noOverload(n, o.cel, l, r)
	case o.comparison:
		n.typ = Bool
	case t.Kind == KindNull:
		n.typ = Dyn
	default:
		n.typ = t
	}
	return nil
}

// macros are CEL's comprehension macros: target.name(var, ...).
var macros = map[string]bool{"all": true, "exists": true, "exists_one": true, "filter": true, "map": true}

func (c *checker) checkCall(n *node) error {
	if !n.recv && n.name == "has" {
		if len(n.args) != 1 || n.args[0].op != opSelect {
			return errorAt(n.pos, "invalid argument to has() macro")
		}
		sel := n.args[0]
		if err := c.check(sel.args[0]); err != nil {
			return err
		}
		if _, err := selectType(sel, sel.args[0].typ); err != nil {
			return err
		}
		n.op, n.name, n.args, n.typ = opHas, sel.name, sel.args, Bool
		return nil
	}
	if macros[n.name] && n.recv {
		if len(n.args) != 3 && (n.name != "map" || len(n.args) != 4) {
			return errorAt(n.pos, "%s takes an iteration variable and an expression (map also allows a filter before the expression)", n.name)
		}
		if n.args[1].op != opIdent {
			return errorAt(n.args[1].pos, "argument to %s is not an identifier", n.name)
		}
		return c.checkLoop(n)
	}
	f, ok := functions[n.name]
	if !ok {
		if unsupportedFunctions[n.name] {
			return unsupportedAt(n.pos, "function %s is not supported", n.name)
		}
		return errorAt(n.pos, "undeclared reference to '%s'", n.name)
	}
	if err := c.checkAll(n.args); err != nil {
		return err
	}
	ts := typesOf(n.args)
	if (n.recv && !f.member) || (!n.recv && !f.global) {
		return noOverload(n, n.name, ts...)
	}
	t, ok := f.check(ts)
	if !ok {
		return noOverload(n, n.name, ts...)
	}
	n.fn, n.typ = f, t
	// A constant pattern is compiled once, here; a bad one stops start-up.
	if n.name == "matches" {
		if lit := n.args[1]; lit.op == opLit {
			if s, ok := lit.val.(string); ok {
				re, err := regexp.Compile(s)
				if err != nil {
					return errorAt(lit.pos, "invalid regular expression: %v", err)
				}
				lit.val = re
			}
		}
	}
	return nil
}

func (c *checker) checkLoop(n *node) error {
	target, iter := n.args[0], n.args[1].name
	if err := c.check(target); err != nil {
		return err
	}
	elem, ok := members(target.typ)
	if !ok {
		return errorAt(target.pos, "expression of type '%s' cannot be the range of a comprehension (must be list, map, or dynamic)", target.typ)
	}
	n.op, n.slot, n.args = opLoop, c.nslots, append([]*node{target}, n.args[2:]...)
	c.nslots++
	c.scope = append(c.scope, binding{name: iter, slot: n.slot, typ: elem})
	defer func() { c.scope = c.scope[:len(c.scope)-1] }()
	if err := c.checkAll(n.args[1:]); err != nil {
		return err
	}
	body := n.args[len(n.args)-1]
	predicates := n.args[1:]
	if n.name == "map" {
		predicates = n.args[1 : len(n.args)-1]
	}
	for _, p := range predicates {
		if !p.typ.is(KindBool, KindDyn) {
			return errorAt(p.pos, "expected type 'bool' but found '%s'", p.typ)
		}
	}
	switch n.name {
	case "map":
		n.typ = ListOf(body.typ)
	case "filter":
		n.typ = ListOf(elem)
	default:
		n.typ = Bool
	}
	return nil
}
