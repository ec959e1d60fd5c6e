package events

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/heraldrt/herald/shared/channel"
)

// FuzzParse: any body either parses into envelopes that are safe to
// broadcast, or is refused with an ErrInvalid error; never a panic, never a
// half-accepted batch.
func FuzzParse(f *testing.F) {
	for _, c := range envelopeCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// The single-pass decoding of one envelope agrees with the general
		// path in every case, errors included.
		fast, ferr := Decode(body)
		slow, serr := decodeGeneral(body)
		if fmt.Sprint(ferr) != fmt.Sprint(serr) || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("Decode = %+v, %v; general path = %+v, %v", fast, ferr, slow, serr)
		}
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
			if m.Name == "" || len(m.Channels) == 0 || utf8.RuneCountInString(m.Name) > MaxNameLength {
				t.Fatalf("bad message %+v", m)
			}
			for _, ch := range m.Channels {
				if channel.Validate(ch) != nil {
					t.Fatalf("invalid channel %q accepted", ch)
				}
			}
			if len(m.Data) > pusherLimits.MaxDataBytes {
				t.Fatalf("data of %d bytes accepted", len(m.Data))
			}
			if m.SocketID != "" && !ValidSocketID(m.SocketID) {
				t.Fatalf("socket id %q accepted", m.SocketID)
			}
		}
	})
}
