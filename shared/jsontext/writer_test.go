package jsontext

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendString: strings are written exactly as encoding/json writes
// them, with and without HTML escaping, and StringLen is their length.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"q" \\ /`, "<a&b>", "\x00\x1f\x7f\b\f\n\r\t", "\u2028\u2029", "é€😀", "\xff\xc3(", "\xe2\x80", `{"order_id":1,"note":"a \"quoted\" word"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s, true); !bytes.Equal(got, want) {
			t.Fatalf("escaping HTML: %q, encoding/json writes %q", got, want)
		}
		if n := StringLen(s, true); n != len(want) {
			t.Fatalf("StringLen(%q, true) = %d, encoding/json writes %d bytes", s, n, len(want))
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
		if got := AppendString([]byte("prefix"), s, false); !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("without HTML escaping: %q, encoding/json writes %q", got, want)
		}
		if n := StringLen(s, false); n != len(want) {
			t.Fatalf("StringLen(%q, false) = %d, encoding/json writes %d bytes", s, n, len(want))
		}
	})
}
