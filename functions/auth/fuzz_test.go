package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/heraldrt/herald/shared/protocol"
)

// FuzzParseRequest feeds arbitrary bodies and content types to the request
// parser. Whatever it accepts must be safe to sign: a socket id of digits
// and one dot, a valid channel name of a kind that needs auth, and neither
// containing ':' (the separator of the signed string). Whatever it refuses
// must be a 400 or 413 with a message.
func FuzzParseRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "socket_id=1234.1234&channel_name=private-foobar", true)
	f.Add("application/x-www-form-urlencoded", "socket_id=1.1%3Aprivate-x&channel_name=private-y", true)
	f.Add("application/x-www-form-urlencoded", "socket_id=1.1&socket_id=2.2&channel_name=private-y", true)
	f.Add("application/json", `{"socket_id":"1.1","channel_name":"presence-online"}`, true)
	f.Add("application/json", `{"socket_id":"1.1","channel_name":"private-a:b"}`, true)
	f.Add("application/json", `{"socket_id":"1.1","socket_id":"2.2","channel_name":"private-y"}`, true)
	f.Add("application/json; charset=utf-8", `{"socket_id":"1.1"}`, false)
	f.Add("", "socket_id=1.1", false)
	f.Add("text/plain", "socket_id=1.1", false)
	f.Fuzz(func(t *testing.T, contentType, body string, wantChannel bool) {
		req, err := parseRequest(contentType, []byte(body), wantChannel)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || (re.status != http.StatusBadRequest && re.status != http.StatusRequestEntityTooLarge) || re.msg == "" {
				t.Fatalf("refusal %#v is not a 400/413 with a message", err)
			}
			return
		}
		if !protocol.ValidSocketID(req.SocketID) || strings.Contains(req.SocketID, ":") {
			t.Fatalf("accepted socket_id %q", req.SocketID)
		}
		if !wantChannel {
			return
		}
		if strings.Contains(req.ChannelName, ":") || protocol.ValidateChannel(req.ChannelName) != nil || !protocol.KindOf(req.ChannelName).NeedsAuth() {
			t.Fatalf("accepted channel_name %q", req.ChannelName)
		}
	})
}
