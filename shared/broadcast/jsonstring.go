package broadcast

import (
	"unicode/utf8"
)

// jsonStringLen is the length of s encoded as a JSON string by
// encoding/json's Marshal: HTML-sensitive characters, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD. Batch publish requests are
// packed by it, under Ably's size limit, before they are encoded.
func jsonStringLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&':
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n++
			default:
				n += 5
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 5 // \ufffd for one byte
		case r == '\u2028' || r == '\u2029':
			n += 3 // \u202x for three bytes
		}
		i += size
	}
	return n
}
