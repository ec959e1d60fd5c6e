package expr

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tInt
	tUint
	tDouble
	tString
	tPunct // operators and brackets; the text says which
)

type token struct {
	kind tokKind
	pos  int    // byte offset in the source
	text string // punctuation or identifier; the decoded value of a string
	num  any    // int64, uint64 or float64 for number tokens
}

// lexer turns the source into tokens on demand.
type lexer struct {
	src string
	pos int
}

// punct lists the operators, longest first so "<=" wins over "<".
var punct = []string{"&&", "||", "<=", ">=", "==", "!=", "(", ")", "[", "]", "{", "}", ".", ",", ":", "?", "+", "-", "*", "/", "%", "!", "<", ">"}

func (l *lexer) next() (token, error) {
	l.skipSpace()
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: l.pos}, nil
	}
	start := l.pos
	c := l.src[l.pos]
	switch {
	case isDigit(c), c == '.' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]):
		return l.number()
	case c == '"' || c == '\'':
		return l.str(false)
	case (c == 'r' || c == 'R') && l.quoteAt(l.pos+1):
		l.pos++
		return l.str(true)
	case (c == 'b' || c == 'B') && (l.quoteAt(l.pos+1) || (l.pos+2 < len(l.src) && (l.src[l.pos+1]|0x20) == 'r' && l.quoteAt(l.pos+2))),
		(c == 'r' || c == 'R') && l.pos+2 < len(l.src) && (l.src[l.pos+1]|0x20) == 'b' && l.quoteAt(l.pos+2):
		return token{}, unsupportedAt(start, "bytes literals are not supported")
	case isIdentStart(c):
		l.skip(isIdentPart)
		return token{kind: tIdent, pos: start, text: l.src[start:l.pos]}, nil
	}
	for _, p := range punct {
		if strings.HasPrefix(l.src[l.pos:], p) {
			l.pos += len(p)
			return token{kind: tPunct, pos: start, text: p}, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return token{}, errorAt(start, "unexpected character %q", r)
}

func (l *lexer) quoteAt(i int) bool {
	return i < len(l.src) && (l.src[i] == '"' || l.src[i] == '\'')
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			l.pos++
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/':
			l.skip(func(c byte) bool { return c != '\n' })
		default:
			return
		}
	}
}

func (l *lexer) number() (token, error) {
	start := l.pos
	s := l.src
	if strings.HasPrefix(s[l.pos:], "0x") || strings.HasPrefix(s[l.pos:], "0X") {
		l.pos += 2
		l.skip(isHex)
		digits := s[start+2 : l.pos]
		if digits == "" {
			return token{}, errorAt(start, "malformed hexadecimal literal")
		}
		return l.integer(start, digits, 16)
	}
	l.skip(isDigit)
	float := false
	if l.pos+1 < len(s) && s[l.pos] == '.' && isDigit(s[l.pos+1]) {
		float = true
		l.pos++
		l.skip(isDigit)
	}
	if l.pos < len(s) && (s[l.pos] == 'e' || s[l.pos] == 'E') {
		j := l.pos + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			float = true
			l.pos = j
			l.skip(isDigit)
		}
	}
	if float {
		f, err := strconv.ParseFloat(s[start:l.pos], 64)
		if err != nil {
			return token{}, errorAt(start, "malformed double literal %s", s[start:l.pos])
		}
		return token{kind: tDouble, pos: start, num: f}, nil
	}
	return l.integer(start, s[start:l.pos], 10)
}

func (l *lexer) integer(start int, digits string, base int) (token, error) {
	// An int is parsed as unsigned too: the parser folds a leading minus
	// in, so that -9223372036854775808 is a valid int.
	u, err := strconv.ParseUint(digits, base, 64)
	if l.pos < len(l.src) && (l.src[l.pos] == 'u' || l.src[l.pos] == 'U') {
		l.pos++
		if err != nil {
			return token{}, errorAt(start, "uint literal %s is out of range", l.src[start:l.pos])
		}
		return token{kind: tUint, pos: start, num: u}, nil
	}
	if err != nil || u > 1<<63 {
		return token{}, errorAt(start, "int literal %s is out of range", l.src[start:l.pos])
	}
	return token{kind: tInt, pos: start, num: u}, nil
}

// str reads a quoted string; l.pos is at the opening quote.
func (l *lexer) str(raw bool) (token, error) {
	start := l.pos
	q := l.src[l.pos : l.pos+1]
	if strings.HasPrefix(l.src[l.pos:], q+q+q) {
		q = q + q + q
	}
	l.pos += len(q)
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			return token{}, errorAt(start, "unterminated string literal")
		}
		if strings.HasPrefix(l.src[l.pos:], q) {
			l.pos += len(q)
			return token{kind: tString, pos: start, text: b.String()}, nil
		}
		c := l.src[l.pos]
		if len(q) == 1 && (c == '\n' || c == '\r') {
			return token{}, errorAt(start, "unterminated string literal")
		}
		if c == '\\' && !raw {
			if err := l.escape(&b); err != nil {
				return token{}, err
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		if r == utf8.RuneError && n == 1 {
			// Each byte that is not UTF-8 reads as U+FFFD, as in cel-go.
			b.WriteRune(utf8.RuneError)
			l.pos++
			continue
		}
		b.WriteString(l.src[l.pos : l.pos+n])
		l.pos += n
	}
}

// escape reads an escape sequence; l.pos is at the backslash. CEL's
// escapes are Go's, plus \? \` and \X, and either quote may be escaped in
// either kind of string.
func (l *lexer) escape(b *strings.Builder) error {
	rest := l.src[l.pos:]
	switch {
	case len(rest) < 2:
		return errorAt(l.pos, "unterminated string literal")
	case strings.IndexByte("?`'\"", rest[1]) >= 0:
		b.WriteByte(rest[1])
		l.pos += 2
		return nil
	case rest[1] == 'X':
		rest = `\x` + rest[2:]
	}
	r, _, tail, err := strconv.UnquoteChar(rest, 0)
	if err != nil {
		return errorAt(l.pos, "invalid escape sequence \\%c", l.src[l.pos+1])
	}
	l.pos += len(rest) - len(tail)
	b.WriteRune(r)
	return nil
}

// skip moves past the bytes in the class.
func (l *lexer) skip(in func(byte) bool) {
	for l.pos < len(l.src) && in(l.src[l.pos]) {
		l.pos++
	}
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isHex(c byte) bool        { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
