package expr

import (
	"fmt"
	"math"
	"slices"
)

// op says what a node does.
type op int

const (
	opLit    op = iota // val
	opIdent            // name, resolved to slot by the checker
	opList             // args are the elements
	opMap              // args are key, value, key, value, ...
	opSelect           // args[0].name
	opHas              // has(args[0].name)
	opIndex            // args[0][args[1]]
	opCall             // name(args...); recv says args[0] was the receiver
	opNot              // !args[0]
	opNeg              // -args[0]
	opBinary           // args[0] name args[1]: arithmetic, comparison, in
	opAnd              // args[0] && args[1]
	opOr               // args[0] || args[1]
	opCond             // args[0] ? args[1] : args[2]
	opLoop             // a macro over args[0]: name is the macro, iter the variable
)

// node is one expression in the tree.
type node struct {
	op   op
	pos  int
	name string
	val  any
	args []*node
	recv bool

	// Filled in by the checker.
	typ  *Type
	slot int // opIdent and opLoop: the variable's slot
	fn   *function
}

// Limits on what the parser accepts, so a rules file cannot make start-up
// (or a request) do unbounded work.
const (
	// MaxLength is the longest expression, in bytes.
	MaxLength = 4096
	// MaxDepth is the deepest nesting of sub-expressions.
	MaxDepth = 64
)

type parser struct {
	lex   lexer
	tok   token
	depth int
	// err is the lexer's first error. From there on the parser sees the
	// end of the expression, and parse reports err: it comes first in the
	// source.
	err error
}

func parse(src string) (*node, error) {
	if len(src) > MaxLength {
		return nil, &Error{Msg: fmt.Sprintf("expression is %d bytes long, the limit is %d", len(src), MaxLength)}
	}
	p := &parser{lex: lexer{src: src}}
	p.advance()
	n, err := p.expr()
	switch {
	case p.err != nil:
		return nil, p.err
	case err != nil:
		return nil, err
	case p.tok.kind != tEOF:
		return nil, p.unexpected()
	}
	return n, nil
}

func (p *parser) advance() {
	if p.err != nil {
		return
	}
	if p.tok, p.err = p.lex.next(); p.err != nil {
		p.tok = token{kind: tEOF, pos: p.lex.pos}
	}
}

func (p *parser) is(punct string) bool { return p.tok.kind == tPunct && p.tok.text == punct }

func (p *parser) expect(punct string) error {
	if !p.is(punct) {
		return errorAt(p.tok.pos, "expected %q, found %s", punct, describe(p.tok))
	}
	p.advance()
	return nil
}

func (p *parser) unexpected() error {
	return errorAt(p.tok.pos, "unexpected %s", describe(p.tok))
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tIdent, tPunct:
		return fmt.Sprintf("%q", t.text)
	case tString:
		return "string literal"
	}
	return "number"
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return errorAt(p.tok.pos, "expression nests deeper than %d levels", MaxDepth)
	}
	return nil
}

// expr: binary ('?' binary ':' expr)?
func (p *parser) expr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	c, err := p.binary(0)
	if err != nil || !p.is("?") {
		return c, err
	}
	pos := p.tok.pos
	p.advance()
	a, err := p.binary(0)
	if err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	b, err := p.expr()
	if err != nil {
		return nil, err
	}
	return &node{op: opCond, pos: pos, args: []*node{c, a, b}}, nil
}

// levels are the binary operators, from the loosest binding to the
// tightest; all associate to the left.
var levels = []struct {
	op  op
	ops []string
}{
	{opOr, []string{"||"}},
	{opAnd, []string{"&&"}},
	{opBinary, []string{"<", "<=", ">", ">=", "==", "!=", "in"}},
	{opBinary, []string{"+", "-"}},
	{opBinary, []string{"*", "/", "%"}},
}

// binary: binary(level+1) (OP binary(level+1))*, down to unary.
func (p *parser) binary(level int) (*node, error) {
	if level == len(levels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	for err == nil && (p.tok.kind == tPunct || p.tok.kind == tIdent) && slices.Contains(levels[level].ops, p.tok.text) {
		t := p.tok
		p.advance()
		var r *node
		if r, err = p.binary(level + 1); err == nil {
			l = &node{op: levels[level].op, pos: t.pos, name: t.text, args: []*node{l, r}}
		}
	}
	return l, err
}

// unary: member | '!'+ member | '-'+ member. As in CEL, an even run of the
// same operator cancels out, and the two may not be mixed without
// parentheses.
func (p *parser) unary() (*node, error) {
	if !p.is("!") && !p.is("-") {
		return p.member()
	}
	sym, pos, n := p.tok.text, p.tok.pos, 0
	for p.is(sym) {
		// A minus right before a number is the number's sign.
		if sym == "-" && p.numberFollows() {
			break
		}
		n++
		p.advance()
	}
	operand, err := p.member()
	if err != nil || n%2 == 0 {
		return operand, err
	}
	o := opNot
	if sym == "-" {
		o = opNeg
	}
	return &node{op: o, pos: pos, args: []*node{operand}}, nil
}

// numberFollows reports whether the current "-" is directly followed by an
// int or double literal.
func (p *parser) numberFollows() bool {
	save := p.lex
	t, err := p.lex.next()
	p.lex = save
	return err == nil && (t.kind == tInt || t.kind == tDouble)
}

// member: primary ('.' IDENT ('(' args ')')? | '[' expr ']')*
func (p *parser) member() (*node, error) {
	n, err := p.primary()
	for err == nil {
		switch {
		case p.is("."):
			p.advance()
			if p.is("?") {
				return nil, unsupportedAt(p.tok.pos, "optional field selection (.?) is not supported")
			}
			if p.tok.kind != tIdent || keywords[p.tok.text] {
				return nil, errorAt(p.tok.pos, "expected a field or method name after '.', found %s", describe(p.tok))
			}
			name, pos := p.tok.text, p.tok.pos
			p.advance()
			if p.is("(") {
				var args []*node
				if args, err = p.args(")"); err != nil {
					return nil, err
				}
				n = &node{op: opCall, pos: pos, name: name, recv: true, args: append([]*node{n}, args...)}
				continue
			}
			n = &node{op: opSelect, pos: pos, name: name, args: []*node{n}}
		case p.is("["):
			pos := p.tok.pos
			p.advance()
			if p.is("?") {
				return nil, unsupportedAt(p.tok.pos, "optional indexing ([?]) is not supported")
			}
			var i *node
			if i, err = p.expr(); err != nil {
				return nil, err
			}
			if err = p.expect("]"); err != nil {
				return nil, err
			}
			n = &node{op: opIndex, pos: pos, args: []*node{n, i}}
		default:
			return n, nil
		}
	}
	return nil, err
}

// args reads expressions separated by commas up to end; the current token
// is the opening bracket.
func (p *parser) args(end string) ([]*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.advance()
	var out []*node
	if end != ")" && p.is(",") {
		// CEL's grammar allows the trailing comma even with no elements.
		p.advance()
		return nil, p.expect(end)
	}
	for !p.is(end) {
		if len(out) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
			// Lists and maps allow a trailing comma; calls do not.
			if p.is(end) && end != ")" {
				break
			}
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if end == "}" {
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	p.advance()
	return out, nil
}

// keywords are never names, not even of fields.
var keywords = map[string]bool{"in": true, "true": true, "false": true, "null": true}

// Reserved reports whether name is one of CEL's reserved words, which may
// not name a variable.
func Reserved(name string) bool { return reservedWords[name] }

// reservedWords may not be used as identifiers (CEL's language definition).
var reservedWords = map[string]bool{
	"as": true, "break": true, "const": true, "continue": true, "else": true,
	"for": true, "function": true, "if": true, "import": true, "let": true,
	"loop": true, "package": true, "namespace": true, "return": true,
	"var": true, "void": true, "while": true, "in": true,
	"true": true, "false": true, "null": true,
}

func (p *parser) primary() (*node, error) {
	t := p.tok
	switch t.kind {
	case tInt, tDouble, tUint, tString:
		return p.literal(t.pos, false)
	case tIdent:
		p.advance()
		switch t.text {
		case "true", "false":
			return &node{op: opLit, pos: t.pos, val: t.text == "true"}, nil
		case "null":
			return &node{op: opLit, pos: t.pos, val: nil}, nil
		}
		if reservedWords[t.text] {
			return nil, errorAt(t.pos, "reserved identifier %q", t.text)
		}
		if p.is("(") {
			args, err := p.args(")")
			if err != nil {
				return nil, err
			}
			return &node{op: opCall, pos: t.pos, name: t.text, args: args}, nil
		}
		if p.is("{") {
			return nil, unsupportedAt(t.pos, "message construction (%s{...}) is not supported", t.text)
		}
		return &node{op: opIdent, pos: t.pos, name: t.text}, nil
	case tPunct:
		switch t.text {
		case "(":
			p.advance()
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			return e, p.expect(")")
		case "[":
			args, err := p.args("]")
			return &node{op: opList, pos: t.pos, args: args}, err
		case "{":
			args, err := p.args("}")
			return &node{op: opMap, pos: t.pos, args: args}, err
		case "-":
			// The sign of a number literal (see unary).
			p.advance()
			if p.tok.kind != tInt && p.tok.kind != tDouble {
				return nil, p.unexpected()
			}
			return p.literal(t.pos, true)
		case ".":
			return nil, unsupportedAt(t.pos, "names with a leading dot are not supported")
		}
	}
	return nil, p.unexpected()
}

// literal reads a literal token, negated when negative (only numbers
// are). The lexer has checked the range of all but an int without a minus.
func (p *parser) literal(pos int, negative bool) (*node, error) {
	t := p.tok
	v := t.num
	switch {
	case t.kind == tString:
		v = t.text
	case t.kind == tInt && negative:
		v = -int64(t.num.(uint64)) // 1<<63 wraps to MinInt64, as wanted
	case t.kind == tInt && t.num.(uint64) > math.MaxInt64:
		return nil, errorAt(t.pos, "int literal is out of range")
	case t.kind == tInt:
		v = int64(t.num.(uint64))
	case negative:
		v = -t.num.(float64)
	}
	p.advance()
	return &node{op: opLit, pos: pos, val: v}, nil
}
