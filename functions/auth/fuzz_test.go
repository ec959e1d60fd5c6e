package auth

import (
	"errors"
	"fmt"
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

// FuzzDecodeForm: the in-place form reader decides every body exactly as
// url.ParseQuery does, the same fields or the same refusal.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range []string{
		"socket_id=1234.1234&channel_name=private-foobar",
		"channel_name=presence-online&socket_id=1.2",
		"socket_id=1.1&socket_id=2.2&channel_name=private-y",
		"socket_id=1.1&channel_name=a&channel_name=b",
		"socket_id&channel_name=&&=x&socket_id==1",
		"socket_id=1.1;channel_name=private-x",
		"socket%5Fid=1.1&channel_name=private-a%3Bb",
		"socket_id=1.1&channel_name=private+x",
		"socket_id=%zz",
		"",
		strings.Repeat("&", 10000) + "socket_id=1.1",
		strings.Repeat("x=1&", 15) + "socket_id=1.1&channel_name=private-a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, gotErr := decodeForm([]byte(body))
		want, wantErr := decodeFormQuery([]byte(body))
		if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("decodeForm(%q) = %+v, %v; url.ParseQuery reads %+v, %v", body, got, gotErr, want, wantErr)
		}
	})
}
