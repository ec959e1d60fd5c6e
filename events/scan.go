package events

import (
	"encoding/json"

	"github.com/heraldrt/herald/shared/jsontext"
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
	s := jsontext.New(body)
	var e Envelope
	var seen uint8
	ok := s.Members(func(key []byte) bool {
		var bit uint8
		ok := false
		switch string(key) {
		case "name":
			bit = 1
			e.Name, ok = s.PlainString()
		case "channel":
			bit = 2
			e.Channel, ok = s.PlainString()
		case "channels":
			bit = 4
			e.Channels, ok = stringArray(s)
		case "data":
			bit = 8
			var raw []byte
			// null: the general path decides
			if raw, ok = s.Value(); ok && raw[0] != 'n' {
				e.Data = append(json.RawMessage(nil), raw...)
			} else {
				ok = false
			}
		case "socket_id":
			bit = 16
			e.SocketID, ok = s.PlainString()
		case "id":
			bit = 32
			e.ID, ok = s.PlainString()
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
	// {}: the general path names what is missing.
	if !ok || seen == 0 {
		return e, false
	}
	if !s.End() {
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

// stringArray reads an array of plain strings.
func stringArray(s *jsontext.Reader) ([]string, bool) {
	out := make([]string, 0, 1)
	ok := s.Elements(func() bool {
		v, ok := s.PlainString()
		out = append(out, v)
		return ok
	})
	return out, ok
}
