package auth

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"net/http"
)

// channelResponse is what pusher-js expects for a subscription.
type channelResponse struct {
	Auth         string `json:"auth"`
	ChannelData  string `json:"channel_data,omitempty"`
	SharedSecret string `json:"shared_secret,omitempty"`
}

// userResponse is what pusher-js expects for a sign-in.
type userResponse struct {
	Auth     string `json:"auth"`
	UserData string `json:"user_data"`
}

type errorResponse struct {
	Error string `json:"error"`
}

// forbiddenResponse is a 403: Rule only with AUTH_DEBUG.
type forbiddenResponse struct {
	Error string `json:"error"`
	Rule  string `json:"rule,omitempty"`
}

// answerOptions write the answers byte for byte as they have always been
// written (encoding/json's defaults): '<', '>', '&', U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD rather than failing the answer.
var answerOptions = json.JoinOptions(jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true), jsontext.AllowInvalidUTF8(true))

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An answer of strings always encodes; a failed write is the client's
	// connection, which nothing here can repair.
	_ = json.MarshalWrite(w, v, answerOptions)
}
