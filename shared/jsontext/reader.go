package jsontext

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the nesting Value follows; deeper values are refused
// (encoding/json allows 10,000, and its callers take that path).
const MaxDepth = 64

// Reader walks a JSON text.
type Reader struct {
	b []byte
	i int
}

// New returns a Reader at the start of b.
func New(b []byte) *Reader { return &Reader{b: b} }

// Offset is how many bytes were read.
func (r *Reader) Offset() int { return r.i }

func (r *Reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// Byte consumes c, after white space, if it is next.
func (r *Reader) Byte(c byte) bool {
	r.space()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// End reports whether only white space is left.
func (r *Reader) End() bool {
	r.space()
	return r.i == len(r.b)
}

// PlainString reads a string without escapes or control characters, in
// valid UTF-8.
func (r *Reader) PlainString() (string, bool) {
	if !r.Byte('"') {
		return "", false
	}
	start := r.i
	ascii := true
	for ; r.i < len(r.b); r.i++ {
		c := r.b[r.i]
		switch {
		case c == '"':
			v := r.b[start:r.i]
			r.i++
			if !ascii && !utf8.Valid(v) {
				return "", false
			}
			return string(v), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// String reads a string and decodes its escapes as encoding/json does,
// including its replacement of invalid UTF-8 and lone surrogates by U+FFFD.
func (r *Reader) String() (string, bool) {
	r.space()
	start := r.i
	if r.i >= len(r.b) || r.b[r.i] != '"' || !r.scanString() {
		return "", false
	}
	raw := r.b[start+1 : r.i-1]
	plain := true
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(raw), true
	}
	return unquote(raw), true
}

// unquote decodes the contents of a well-formed JSON string.
func unquote(raw []byte) string {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			i++
			switch raw[i] {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r1 := hex4(raw[i+1 : i+5])
				i += 5
				if utf16.IsSurrogate(r1) {
					// A pair is two escapes; anything else is a lone half.
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						if dec := utf16.DecodeRune(r1, hex4(raw[i+2:i+6])); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
					r1 = utf8.RuneError
				}
				out = utf8.AppendRune(out, r1)
				continue
			default: // " \ /
				out = append(out, raw[i])
			}
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			rr, size := utf8.DecodeRune(raw[i:])
			if rr == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, raw[i:i+size]...)
			}
			i += size
		}
	}
	return string(out)
}

func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// Key reads an object key without escapes and its colon, returning a view
// of the input: compare it, do not keep it. A key with an escape is
// refused.
func (r *Reader) Key() ([]byte, bool) {
	if !r.Byte('"') {
		return nil, false
	}
	start := r.i
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; {
		case c == '"':
			k := r.b[start:r.i]
			r.i++
			return k, r.Byte(':')
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// Members reads an object, calling member with each key (a view of the
// input, as Key returns it) to read that key's value. It stops with false
// at the first member that returns false, a key with an escape, or
// anything that is not an object.
func (r *Reader) Members(member func(key []byte) bool) bool {
	if !r.Byte('{') {
		return false
	}
	if r.Byte('}') {
		return true
	}
	for {
		key, ok := r.Key()
		if !ok || !member(key) {
			return false
		}
		if r.Byte('}') {
			return true
		}
		if !r.Byte(',') {
			return false
		}
	}
}

// Elements reads an array, calling element to read each element. It stops
// with false at the first element that returns false, or at anything that
// is not an array.
func (r *Reader) Elements(element func() bool) bool {
	if !r.Byte('[') {
		return false
	}
	if r.Byte(']') {
		return true
	}
	for {
		if !element() {
			return false
		}
		if r.Byte(']') {
			return true
		}
		if !r.Byte(',') {
			return false
		}
	}
}

// Value returns the next JSON value exactly as it is written, after
// checking it is well formed.
func (r *Reader) Value() ([]byte, bool) {
	r.space()
	start := r.i
	if !r.value(0) {
		return nil, false
	}
	return r.b[start:r.i], true
}

// Skip consumes the next value, checking it is well formed.
func (r *Reader) Skip() bool { return r.value(0) }

func (r *Reader) value(depth int) bool {
	r.space()
	if r.i >= len(r.b) {
		return false
	}
	switch c := r.b[r.i]; {
	case c == '"':
		return r.scanString()
	case c == '{':
		if depth == MaxDepth {
			return false
		}
		r.i++
		if r.Byte('}') {
			return true
		}
		for {
			r.space()
			if r.i >= len(r.b) || r.b[r.i] != '"' || !r.scanString() || !r.Byte(':') || !r.value(depth+1) {
				return false
			}
			if r.Byte('}') {
				return true
			}
			if !r.Byte(',') {
				return false
			}
		}
	case c == '[':
		if depth == MaxDepth {
			return false
		}
		r.i++
		if r.Byte(']') {
			return true
		}
		for {
			if !r.value(depth + 1) {
				return false
			}
			if r.Byte(']') {
				return true
			}
			if !r.Byte(',') {
				return false
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	}
	return false
}

func (r *Reader) literal(word string) bool {
	if len(r.b)-r.i >= len(word) && string(r.b[r.i:r.i+len(word)]) == word {
		r.i += len(word)
		return true
	}
	return false
}

// plain marks the bytes a string may hold as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString consumes a string with its escapes; r.b[r.i] is its quote.
func (r *Reader) scanString() bool {
	for r.i++; r.i < len(r.b); r.i++ {
		for r.i < len(r.b) && plain[r.b[r.i]] {
			r.i++
		}
		if r.i == len(r.b) {
			break
		}
		switch c := r.b[r.i]; {
		case c == '"':
			r.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			r.i++
			if r.i >= len(r.b) {
				return false
			}
			switch r.b[r.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(r.b)-r.i < 5 {
					return false
				}
				for _, h := range r.b[r.i+1 : r.i+5] {
					if !isHex(h) {
						return false
					}
				}
				r.i += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number consumes -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *Reader) number() bool {
	if r.b[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.b) && r.b[r.i] == '0':
		r.i++
	case r.digits() == 0:
		return false
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if r.digits() == 0 {
			return false
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if r.digits() == 0 {
			return false
		}
	}
	return true
}

func (r *Reader) digits() int {
	n := 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
		n++
	}
	return n
}

// Compact reports whether a valid JSON text has no white space outside its
// strings, so that json.Compact would return it unchanged.
func Compact(d []byte) bool {
	for i := 0; i < len(d); i++ {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			for i++; i < len(d) && d[i] != '"'; i++ {
				if d[i] == '\\' {
					i++
				}
			}
		}
	}
	return true
}

// Object decodes a JSON object as encoding/json decodes it into a
// map[string]any: nested objects as maps, arrays as []any, numbers as
// float64, a repeated key's last value kept. It returns false for anything
// else, or anything it would decode differently (a number out of float64's
// range, nesting deeper than MaxDepth), and the caller then uses
// encoding/json, which decodes it or says what is wrong.
func Object(b []byte) (map[string]any, bool) {
	r := New(b)
	r.space()
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		return nil, false
	}
	v, ok := r.any(0)
	if !ok || !r.End() {
		return nil, false
	}
	return v.(map[string]any), true
}

func (r *Reader) any(depth int) (any, bool) {
	r.space()
	if r.i >= len(r.b) {
		return nil, false
	}
	switch c := r.b[r.i]; {
	case c == '"':
		return r.String()
	case c == '{':
		if depth == MaxDepth {
			return nil, false
		}
		r.i++
		m := map[string]any{}
		if r.Byte('}') {
			return m, true
		}
		for {
			k, ok := r.String()
			if !ok || !r.Byte(':') {
				return nil, false
			}
			v, ok := r.any(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v
			if r.Byte('}') {
				return m, true
			}
			if !r.Byte(',') {
				return nil, false
			}
		}
	case c == '[':
		if depth == MaxDepth {
			return nil, false
		}
		r.i++
		a := []any{}
		if r.Byte(']') {
			return a, true
		}
		for {
			v, ok := r.any(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			if r.Byte(']') {
				return a, true
			}
			if !r.Byte(',') {
				return nil, false
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		start := r.i
		if !r.number() {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(r.b[start:r.i]), 64)
		if err != nil {
			return nil, false
		}
		return f, true
	case c == 't':
		return true, r.literal("true")
	case c == 'f':
		return false, r.literal("false")
	case c == 'n':
		return nil, r.literal("null")
	}
	return nil, false
}

// Number reports whether s is exactly one JSON number, with nothing around
// it.
func Number(s string) bool {
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return false
	}
	r := New([]byte(s))
	return r.number() && r.i == len(s)
}
