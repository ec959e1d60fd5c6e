package auth

import (
	"net/http"
	"sync"
	"unicode/utf8"
)

// The answers are a few fixed string fields, written here without
// reflection: encoding/json's reflective path was a tenth of a warm
// request. The bytes are exactly what encoding/json writes for the same
// values (the tests compare the two on arbitrary strings), so nothing a
// client or a signature sees has changed.

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it: '"', '\\' and control bytes; U+2028 and U+2029; each invalid
// UTF-8 byte as \ufffd; and, when escapeHTML is set (json.Marshal's
// default), '<', '>' and '&'.
func appendJSONString(dst []byte, s string, escapeHTML bool) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	done := 0 // s[done:i] is copied as it is when an escape or the end comes
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!escapeHTML || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[done:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	dst = append(dst, s[done:]...)
	return append(dst, '"')
}

// jsonAnswer is an answer body that writes itself.
type jsonAnswer interface {
	appendJSON(dst []byte) []byte
}

// channelResponse is what pusher-js expects for a subscription.
type channelResponse struct {
	Auth         string
	ChannelData  string // omitted when empty
	SharedSecret string // omitted when empty
}

func (r channelResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"auth":`...)
	b = appendJSONString(b, r.Auth, true)
	if r.ChannelData != "" {
		b = append(b, `,"channel_data":`...)
		b = appendJSONString(b, r.ChannelData, true)
	}
	if r.SharedSecret != "" {
		b = append(b, `,"shared_secret":`...)
		b = appendJSONString(b, r.SharedSecret, true)
	}
	return append(b, '}')
}

// userResponse is what pusher-js expects for a sign-in.
type userResponse struct {
	Auth     string
	UserData string
}

func (r userResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"auth":`...)
	b = appendJSONString(b, r.Auth, true)
	b = append(b, `,"user_data":`...)
	b = appendJSONString(b, r.UserData, true)
	return append(b, '}')
}

type errorResponse struct {
	Error string
}

func (r errorResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"error":`...)
	b = appendJSONString(b, r.Error, true)
	return append(b, '}')
}

// answerBuffers hold answers while they are written. A ResponseWriter is an
// io.Writer, which must not retain what it is given, so a buffer is free
// again once Write returns.
var answerBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

func writeJSON(w http.ResponseWriter, status int, v jsonAnswer) {
	bp := answerBuffers.Get().(*[]byte)
	b := v.appendJSON((*bp)[:0])
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	if cap(b) <= 16<<10 {
		*bp = b
		answerBuffers.Put(bp)
	}
}
