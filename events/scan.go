package events

import (
	"encoding/json"
	"unicode/utf8"
)

// scanEnvelope decodes the form nearly every queued message has: one
// envelope object whose fields are among name, channel, channels, data,
// socket_id and id, each given once, with plain strings (no escapes, valid
// UTF-8). It reads the body once, without reflection, and allocates only
// what the envelope keeps. Anything else (a batch, a notification, an
// unknown or repeated field, an escape, null, an error of any kind) makes it
// return false, and the caller takes the general path, which gives the same
// answer for every body the scanner accepts and says precisely what is
// wrong with the others. FuzzParse holds the two to that.
func scanEnvelope(body []byte) (Envelope, bool) {
	s := scanner{b: body}
	var e Envelope
	if !s.byte('{') {
		return e, false
	}
	var seen uint8
	for first := true; ; first = false {
		if s.byte('}') {
			if first || seen == 0 {
				return e, false // {}: the general path names what is missing
			}
			break
		}
		if !first && !s.byte(',') {
			return e, false
		}
		key, ok := s.plainString()
		if !ok || !s.byte(':') {
			return e, false
		}
		var bit uint8
		switch key {
		case "name":
			bit = 1
			e.Name, ok = s.stringValue()
		case "channel":
			bit = 2
			e.Channel, ok = s.stringValue()
		case "channels":
			bit = 4
			e.Channels, ok = s.stringArray()
		case "data":
			bit = 8
			var raw []byte
			raw, ok = s.value()
			if ok && raw[0] != 'n' {
				e.Data = append(json.RawMessage(nil), raw...)
			} else {
				ok = false // null: the general path decides
			}
		case "socket_id":
			bit = 16
			e.SocketID, ok = s.stringValue()
		case "id":
			bit = 32
			e.ID, ok = s.stringValue()
		default:
			return e, false
		}
		if !ok || seen&bit != 0 {
			return e, false
		}
		seen |= bit
	}
	s.space()
	if s.i != len(s.b) {
		return e, false
	}
	if e.Channel != "" {
		if len(e.Channels) > 0 {
			return e, false
		}
		e.Channels = []string{e.Channel}
		e.Channel = ""
	}
	return e, true
}

// scanner walks a JSON text byte by byte.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c, after white space, if it is next.
func (s *scanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters, in
// valid UTF-8, and returns it as a view of the input.
func (s *scanner) plainString() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start := s.i
	ascii := true
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
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

func (s *scanner) stringValue() (string, bool) { return s.plainString() }

// stringArray reads an array of plain strings.
func (s *scanner) stringArray() ([]string, bool) {
	if !s.byte('[') {
		return nil, false
	}
	out := make([]string, 0, 1)
	if s.byte(']') {
		return out, true
	}
	for {
		v, ok := s.plainString()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if s.byte(']') {
			return out, true
		}
		if !s.byte(',') {
			return nil, false
		}
	}
}

// maxDepth bounds the nesting scanValue follows; deeper values take the
// general path (encoding/json allows 10,000).
const maxDepth = 64

// value returns the next JSON value exactly as it is written, after
// checking it is valid JSON.
func (s *scanner) value() ([]byte, bool) {
	s.space()
	start := s.i
	if !s.scanValue(0) {
		return nil, false
	}
	return s.b[start:s.i], true
}

// scanValue consumes one JSON value (RFC 8259), reporting whether it is
// well formed.
func (s *scanner) scanValue(depth int) bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.scanString()
	case c == '{':
		if depth == maxDepth {
			return false
		}
		s.i++
		if s.byte('}') {
			return true
		}
		for {
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != '"' || !s.scanString() || !s.byte(':') || !s.scanValue(depth+1) {
				return false
			}
			if s.byte('}') {
				return true
			}
			if !s.byte(',') {
				return false
			}
		}
	case c == '[':
		if depth == maxDepth {
			return false
		}
		s.i++
		if s.byte(']') {
			return true
		}
		for {
			if !s.scanValue(depth + 1) {
				return false
			}
			if s.byte(']') {
				return true
			}
			if !s.byte(',') {
				return false
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return s.scanNumber()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// scanString consumes a string with its escapes; s.b[s.i] is its quote.
func (s *scanner) scanString() bool {
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(s.b)-s.i < 5 {
					return false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 4
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

// scanNumber consumes -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) scanNumber() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// compact reports whether a valid JSON text has no white space outside its
// strings, so that json.Compact would return it unchanged.
func compact(d []byte) bool {
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
