package auth

import (
	"net/http"
	"sync"

	"github.com/heraldrt/herald/shared/jsontext"
)

// The answers are a few fixed string fields, written here without
// reflection: encoding/json's reflective path was a tenth of a warm
// request. The bytes are exactly what encoding/json writes for the same
// values (the tests compare the two on arbitrary strings), so nothing a
// client or a signature sees has changed.

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
	b = jsontext.AppendString(b, r.Auth, true)
	if r.ChannelData != "" {
		b = append(b, `,"channel_data":`...)
		b = jsontext.AppendString(b, r.ChannelData, true)
	}
	if r.SharedSecret != "" {
		b = append(b, `,"shared_secret":`...)
		b = jsontext.AppendString(b, r.SharedSecret, true)
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
	b = jsontext.AppendString(b, r.Auth, true)
	b = append(b, `,"user_data":`...)
	b = jsontext.AppendString(b, r.UserData, true)
	return append(b, '}')
}

type errorResponse struct {
	Error string
}

func (r errorResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"error":`...)
	b = jsontext.AppendString(b, r.Error, true)
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
