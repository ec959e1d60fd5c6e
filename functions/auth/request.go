package auth

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldrt/herald/shared/protocol"
)

// MaxBodyBytes is the largest request body accepted; pusher-js sends about
// a hundred bytes.
const MaxBodyBytes = 16 << 10

// formType is the Content-Type pusher-js and Laravel Echo send.
const formType = "application/x-www-form-urlencoded"

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
	req, err := decodeBody(contentType, body)
	if err != nil {
		return authRequest{}, err
	}
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

// decodeBody returns the socket_id and channel_name fields, not yet
// validated, refusing repeated fields: two values are two meanings, and the
// one checked must be the one signed.
func decodeBody(contentType string, body []byte) (authRequest, error) {
	mediaType := formType
	if contentType != "" && contentType != formType {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return authRequest{}, badRequest("Content-Type %q cannot be parsed", contentType)
		}
		mediaType = mt
	}
	switch mediaType {
	case formType:
		return decodeForm(body)
	case "application/json":
		return decodeJSON(body)
	default:
		return authRequest{}, badRequest("unsupported Content-Type %q: send application/x-www-form-urlencoded (as pusher-js does) or application/json", mediaType)
	}
}

// decodeForm reads a form as pusher-js sends it.
func decodeForm(body []byte) (authRequest, error) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return authRequest{}, badRequest("malformed form body: %v", err)
	}
	var req authRequest
	for _, f := range []struct {
		key string
		dst *string
	}{{"socket_id", &req.SocketID}, {"channel_name", &req.ChannelName}} {
		switch vs := values[f.key]; len(vs) {
		case 0:
		case 1:
			*f.dst = vs[0]
		default:
			return authRequest{}, repeated(f.key, len(vs))
		}
	}
	return req, nil
}

func repeated(key string, n int) error {
	return badRequest("%s is given %d times", key, n)
}

// decodeJSON reads an object with string socket_id and channel_name; other
// members are ignored, as a form's other fields are.
func decodeJSON(body []byte) (authRequest, error) {
	var in struct {
		SocketID    string `json:"socket_id"`
		ChannelName string `json:"channel_name"`
	}
	err := json.Unmarshal(body, &in)
	var se *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case err == nil:
		return authRequest{SocketID: in.SocketID, ChannelName: in.ChannelName}, nil
	case errors.Is(err, jsontext.ErrDuplicateName) && errors.As(err, &syn):
		return authRequest{}, repeated(strings.TrimPrefix(string(syn.JSONPointer), "/"), 2)
	case errors.As(err, &se) && se.JSONPointer != "":
		return authRequest{}, badRequest("%s must be a JSON string", strings.TrimPrefix(string(se.JSONPointer), "/"))
	}
	return authRequest{}, badRequest("malformed JSON body: want an object with string socket_id and channel_name")
}

func validateSocketID(s string) error {
	switch {
	case s == "":
		return badRequest("socket_id is missing")
	case !protocol.ValidSocketID(s):
		return badRequest("socket_id %q is not a socket id (digits.digits)", protocol.Abbreviate(s))
	}
	return nil
}

func validateChannel(name string) error {
	if name == "" {
		return badRequest("channel_name is missing")
	}
	if err := protocol.ValidateChannel(name); err != nil {
		return badRequest("channel_name: %v", err)
	}
	switch k := protocol.KindOf(name); k {
	case protocol.Private, protocol.Presence, protocol.PrivateEncrypted:
		return nil
	case protocol.User:
		return badRequest("%q is a user channel: pusher-js joins it by signing in (%s), not by subscribing", name, PathUserAuth)
	default:
		return badRequest("%q is a public channel and needs no authorization; only private-, presence- and private-encrypted- channels do", name)
	}
}
