package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"

	"github.com/heraldrt/herald/shared/channel"
)

// MaxBodyBytes is the largest request body accepted; pusher-js sends about
// a hundred bytes.
const MaxBodyBytes = 16 << 10

// maxSocketIDLength is far above any socket id Pusher or the local server
// issues ("123456.7890123") and far below anything that could hurt.
const maxSocketIDLength = 64

var socketIDRE = regexp.MustCompile(`^\d+\.\d+$`)

// authRequest is a validated request: both fields are safe to join with ':'.
type authRequest struct {
	SocketID    string
	ChannelName string
}

type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// readRequest reads and validates the body of an auth request. wantChannel
// is false for user sign-in, which sends only socket_id.
func readRequest(r *http.Request, wantChannel bool) (authRequest, error) {
	if r.ContentLength > MaxBodyBytes {
		return authRequest{}, tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return authRequest{}, badRequest("reading the body: %v", err)
	}
	if len(body) > MaxBodyBytes {
		return authRequest{}, tooLarge()
	}
	return parseRequest(r.Header.Get("Content-Type"), body, wantChannel)
}

func tooLarge() error {
	return &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}
}

// parseRequest decodes a form (what pusher-js sends) or JSON body and
// validates it. It is separate from readRequest so it can be fuzzed.
func parseRequest(contentType string, body []byte, wantChannel bool) (authRequest, error) {
	fields, err := decodeBody(contentType, body)
	if err != nil {
		return authRequest{}, err
	}
	req := authRequest{SocketID: fields["socket_id"], ChannelName: fields["channel_name"]}
	if err := validateSocketID(req.SocketID); err != nil {
		return authRequest{}, err
	}
	if !wantChannel {
		return req, nil
	}
	if err := validateChannel(req.ChannelName); err != nil {
		return authRequest{}, err
	}
	return req, nil
}

// decodeBody returns the socket_id and channel_name fields, refusing
// repeated fields: two values are two meanings, and the one checked must be
// the one signed.
func decodeBody(contentType string, body []byte) (map[string]string, error) {
	mediaType := "application/x-www-form-urlencoded"
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return nil, badRequest("Content-Type %q cannot be parsed", contentType)
		}
		mediaType = mt
	}
	out := map[string]string{}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest("malformed form body: %v", err)
		}
		for _, k := range []string{"socket_id", "channel_name"} {
			switch vs := values[k]; len(vs) {
			case 0:
			case 1:
				out[k] = vs[0]
			default:
				return nil, badRequest("%s is given %d times", k, len(vs))
			}
		}
	case "application/json":
		var m map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&m); err != nil {
			return nil, badRequest("malformed JSON body: want an object with string socket_id and channel_name")
		}
		if dec.More() {
			return nil, badRequest("malformed JSON body: more than one value")
		}
		for _, k := range []string{"socket_id", "channel_name"} {
			raw, ok := m[k]
			if !ok {
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, badRequest("%s must be a JSON string", k)
			}
			out[k] = s
		}
	default:
		return nil, badRequest("unsupported Content-Type %q: send application/x-www-form-urlencoded (as pusher-js does) or application/json", mediaType)
	}
	return out, nil
}

func validateSocketID(s string) error {
	switch {
	case s == "":
		return badRequest("socket_id is missing")
	case len(s) > maxSocketIDLength || !socketIDRE.MatchString(s):
		return badRequest("socket_id %q is not a socket id (digits.digits)", abbreviate(s))
	}
	return nil
}

func validateChannel(name string) error {
	if name == "" {
		return badRequest("channel_name is missing")
	}
	if err := channel.Validate(name); err != nil {
		return badRequest("channel_name: %v", err)
	}
	switch k := channel.KindOf(name); k {
	case channel.Private, channel.Presence, channel.PrivateEncrypted:
		return nil
	case channel.User:
		return badRequest("%q is a user channel: pusher-js joins it by signing in (%s), not by subscribing", name, PathUserAuth)
	default:
		return badRequest("%q is a public channel and needs no authorization; only private-, presence- and private-encrypted- channels do", name)
	}
}

// abbreviate keeps an echoed value short; %q takes care of control bytes.
func abbreviate(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:37] + "..."
}
