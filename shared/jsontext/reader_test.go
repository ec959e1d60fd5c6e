package jsontext

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var values = []string{
	`0`, `-0.5e+3`, `1E9`, `01`, `1.`, `-`, `1e`, `.5`, `+1`, `[]`, `{}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`,
	`"plain"`, `"\u00e9\n\/\\\""`, `"\x"`, `"\u12"`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`,
	"\"raw\ttab\"", "\"\xff\xfe\"", "\"\xed\xa0\x80\"", `[[[[[[[[[[1]]]]]]]]]]`, ` { "a" : [ 1 , "b" ] } `,
	`true`, `fals`, `nul`, `null`, `nulls`, `[true,false,null]`, `{"a":{"b":[{"c":"d"}]}}`, `"日本 🙂"`,
	`{"sub":"42","exp":1767225600,"iat":1.5e9,"aud":["a","b"],"name":"Al\u00 efice","n":null,"ok":true,"x":{}}`,
	`{"a":1,"a":2}`, `{"a":1e400}`, `{"a":-0}`, `{"\u0061":1}`, `{"a":[]}`, ` {} `, `{"a":1} x`,
}

// Value accepts exactly what encoding/json accepts (within MaxDepth), and
// String decodes exactly as encoding/json does.
func TestAgainstEncodingJSON(t *testing.T) {
	for _, v := range values {
		check(t, []byte(v))
	}
}

func FuzzAgainstEncodingJSON(f *testing.F) {
	for _, v := range values {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
	})
}

func check(t *testing.T, b []byte) {
	t.Helper()
	r := New(b)
	raw, ok := r.Value()
	whole := ok && r.End()
	if whole != json.Valid(b) {
		// Deeper than MaxDepth is refused here and valid there.
		if !(json.Valid(b) && depth(b) > MaxDepth) {
			t.Fatalf("%q: Value+End = %v, json.Valid = %v", b, whole, json.Valid(b))
		}
	}
	var want map[string]any
	werr := json.Unmarshal(b, &want)
	if got, ok := Object(b); ok {
		if werr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Object = %#v; encoding/json %#v, %v", b, got, want, werr)
		}
	} else if werr == nil && want != nil && depth(b) <= MaxDepth && !hugeNumber(b) {
		t.Fatalf("%q: Object refused what encoding/json decodes: %#v", b, want)
	}
	if whole && len(raw) > 0 && raw[0] == '"' {
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := New(b).String()
		if !ok || got != want {
			t.Fatalf("%q: String = %q, %v; encoding/json %q", b, got, ok, want)
		}
	}
	if whole {
		var c []byte
		if buf, err := compact(b); err == nil {
			c = buf
		}
		if Compact(raw) != (string(c) == string(raw)) {
			t.Fatalf("%q: Compact = %v, json.Compact gives %q", raw, Compact(raw), c)
		}
	}
}

func compact(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	err := json.Compact(&buf, b)
	return trimSpace(buf.Bytes()), err
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// hugeNumber reports whether b may hold a number float64 cannot hold,
// which encoding/json refuses with an error and Object leaves to it.
func hugeNumber(b []byte) bool {
	return bytes.ContainsAny(b, "eE")
}

// depth is the deepest nesting of b's arrays and objects, brackets inside
// strings not counted.
func depth(b []byte) int {
	d, most := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			d++
			most = max(most, d)
		case ']', '}':
			d--
		}
	}
	return most
}

func TestNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-1.5e+3": true, "12345678901234567890123456789": true, "1E9": true,
		"": false, "0 ": false, " 1": false, "01": false, "1.": false, "-": false, "+1": false,
		"0x10": false, "NaN": false, "1e": false, "1,2": false,
	} {
		if got := Number(s); got != want {
			t.Errorf("Number(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestMembersAndElements(t *testing.T) {
	tests := []struct {
		in   string
		keys string // keys seen, then the elements of "list" counted
		ok   bool
	}{
		{`{}`, "", true},
		{` { "a" : 1 , "list" : [ 1 , [2] , {} ] } `, "a list 3", true},
		{`{"list":[]}`, "list 0", true},
		{`{"a":1,}`, "a", false},
		{`{"a\u0062":1}`, "", false},       // escaped key: the caller's general path
		{`{"list":[1,]}`, "list 2", false}, // the second element is tried and refused
		{`[]`, "", false},
		{`{"a":1`, "a", false},
	}
	for _, tt := range tests {
		r := New([]byte(tt.in))
		var seen []string
		ok := r.Members(func(key []byte) bool {
			seen = append(seen, string(key))
			if string(key) != "list" {
				return r.Skip()
			}
			n := 0
			ok := r.Elements(func() bool { n++; return r.Skip() })
			seen = append(seen, strconv.Itoa(n))
			return ok
		})
		if got := strings.Join(seen, " "); ok != tt.ok || got != tt.keys {
			t.Errorf("%s: Members = %v, saw %q; want %v, %q", tt.in, ok, got, tt.ok, tt.keys)
		}
	}
}
