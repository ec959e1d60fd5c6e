package token

import (
	"encoding/json/v2"
	"errors"
	"reflect"
	"testing"
)

// claimCases cover every kind of JSON value a claim can hold, and the
// inputs the strict decoding must refuse.
var claimCases = []string{
	`{}`,
	`{"sub":"42","name":"Alice","iat":1795000000,"exp":1795003600}`,
	`{"sub":"42","aud":["herald","other"],"admin":true,"team":null}`,
	`{"rooms":["a","b"],"org":{"id":7,"roles":["owner"],"nested":{"deep":[1,[2,{"x":-0.5}]]}}}`,
	`{"n":-0,"big":12345678901234567890123,"tiny":1e-400,"exp":1.5e9,"f":0.1}`,
	`{"huge":1e400}`,
	`{"esc":"\u00e9\ud83d\ude00\n\"\\\/","k\u0065y":"v"}`,
	`{"sub":"42","sub":"43"}`,
	`{"sub":"42","s\u0075b":"43"}`,
	"{\"sub\":\"\xff\"}",
	"{\"\xff\":1}",
	`{"sub":"42",}`,
	`{"sub":"42"} `,
	`{"sub":"42"}{}`,
	`["sub","42"]`,
	`"sub"`,
	`null`,
	`{"sub":42`,
	`{"sub" "42"}`,
	`{"a":[1,2,]}`,
	`{"a":tru}`,
	``,
}

// TestClaimReaderMatchesUnmarshal holds the claim reader to what
// encoding/json/v2 decodes into a map[string]any, value for value, and to
// the inputs it refuses (and null, which it refuses too).
func TestClaimReaderMatchesUnmarshal(t *testing.T) {
	for _, in := range claimCases {
		checkClaims(t, []byte(in))
	}
}

func FuzzClaimReader(f *testing.F) {
	for _, in := range claimCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkClaims(t, b) })
}

func checkClaims(t *testing.T, b []byte) {
	t.Helper()
	var want map[string]any
	wantErr := json.Unmarshal(b, &want)
	if wantErr == nil && want == nil {
		// null: no claims at all, which the reader refuses outright.
		wantErr = errors.New("not an object")
	}
	var c claimSet
	err := c.UnmarshalJSON(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json/v2: %v", b, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(map[string]any(c.MapClaims), want) {
		t.Fatalf("%q: decoded %#v, encoding/json/v2 %#v", b, c.MapClaims, want)
	}
}
