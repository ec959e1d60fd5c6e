package broadcast

import (
	"encoding/json"
	"testing"
)

func TestJSONStringLen(t *testing.T) {
	for _, s := range []string{
		"", "plain", `{"order_id":1,"note":"a \"quoted\" word"}`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
		"<script>&</script>", "é ü 日本 🙂", "\u2028\u2029", "bad \xff utf8 \xc3", "back\\slash /", "\b\f",
	} {
		want, _ := json.Marshal(s)
		if n := jsonStringLen(s); n != len(want) {
			t.Errorf("jsonStringLen(%q) = %d, want %d", s, n, len(want))
		}
	}
}

func FuzzJSONStringLen(f *testing.F) {
	for _, s := range []string{"", "a\"b", "<>&", "\u2028", "\xff", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if n := jsonStringLen(s); n != len(want) {
			t.Fatalf("jsonStringLen(%q) = %d, want %d", s, n, len(want))
		}
	})
}
