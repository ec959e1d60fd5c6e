package events

import (
	"errors"
	"testing"

	"github.com/heraldrt/herald/shared/protocol"
)

// FuzzParse: any body either parses into envelopes that are safe to
// broadcast, or is refused with an ErrInvalid error; never a panic, never a
// half-accepted batch.
func FuzzParse(f *testing.F) {
	for _, c := range envelopeCases {
		f.Add([]byte(c.body))
	}
	// Data of every kind, well formed or not.
	for _, data := range []string{
		`-0.5e+3`, `01`, `1.`, `-`, `1e`, `0`, `[]`, `{}`, `[1,]`, `{"a":1,}`, `{"a" 1}`,
		`"\u00e9\n\/"`, `"\x"`, `"\u12"`, `"tab\there"`, "\"raw\ttab\"", `[[[[[[[[[[1]]]]]]]]]]`,
		` { "a" : [ 1 , "b" ] } `, `true`, `fals`, `nul`, `null`, `"\ud800"`, "\"\xff\"",
	} {
		f.Add([]byte(`{"name":"E","channel":"c","data":` + data + `}`))
	}
	for _, body := range []string{
		`{"name":"E","channel":"c","data":1,"name":"F"}`,
		`{"Name":"E","channel":"c","data":1}`,
		`{"name":"E\u0041","channels":["a","b"],"data":1}`,
		`{"name":"E","channels":["a","a"],"data":1}`,
		`{"name":"E","channels":[],"data":1}`,
		`{"name":"E","channel":"a","channels":["b"],"data":1}`,
		`{"name":null,"channel":"c","data":1}`,
		"{\"name\":\"\xff\",\"channel\":\"c\",\"data\":1}",
		` {"name":"E","channel":"c","data":{"x":[1,2,{"y":null}]},"socket_id":"1.2","id":"k"} `,
		`{"name":"E","channel":"c","data":1} x`,
		`{"name":"E","channel":"c","data":1`,
		`{"name":"E","channel":"c","data":1,}`,
		`{}`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		envs, err := Parse(body, pusherLimits)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if envs != nil {
				t.Fatal("envelopes returned with an error")
			}
			return
		}
		if len(envs) == 0 {
			t.Fatal("no envelopes and no error")
		}
		for _, e := range envs {
			m, err := e.Message("fallback")
			if err != nil {
				t.Fatalf("validated envelope has no message: %v", err)
			}
			if m.Name == "" || len(m.Channels) == 0 || len(m.Name) > protocol.MaxEventNameLength {
				t.Fatalf("bad message %+v", m)
			}
			for _, ch := range m.Channels {
				if protocol.ValidateChannel(ch) != nil {
					t.Fatalf("invalid channel %q accepted", ch)
				}
			}
			if len(m.Data) > pusherLimits.MaxDataBytes {
				t.Fatalf("data of %d bytes accepted", len(m.Data))
			}
			if m.SocketID != "" && !protocol.ValidSocketID(m.SocketID) {
				t.Fatalf("socket id %q accepted", m.SocketID)
			}
		}
	})
}
