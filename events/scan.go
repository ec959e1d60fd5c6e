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
	if !s.Byte('{') {
		return e, false
	}
	var seen uint8
	for first := true; ; first = false {
		if s.Byte('}') {
			if first || seen == 0 {
				return e, false // {}: the general path names what is missing
			}
			break
		}
		if !first && !s.Byte(',') {
			return e, false
		}
		key, ok := s.Key()
		if !ok {
			return e, false
		}
		var bit uint8
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
			raw, ok = s.Value()
			if ok && raw[0] != 'n' {
				e.Data = append(json.RawMessage(nil), raw...)
			} else {
				ok = false // null: the general path decides
			}
		case "socket_id":
			bit = 16
			e.SocketID, ok = s.PlainString()
		case "id":
			bit = 32
			e.ID, ok = s.PlainString()
		default:
			return e, false
		}
		if !ok || seen&bit != 0 {
			return e, false
		}
		seen |= bit
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
	if !s.Byte('[') {
		return nil, false
	}
	out := make([]string, 0, 1)
	if s.Byte(']') {
		return out, true
	}
	for {
		v, ok := s.PlainString()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if s.Byte(']') {
			return out, true
		}
		if !s.Byte(',') {
			return nil, false
		}
	}
}
