package broadcast

import (
	"encoding/json"
	"testing"
)

// The planner's size of a message is the size of what the SDK sends for
// it, for strings that need every kind of escaping.
func TestAblyMessageLen(t *testing.T) {
	awkward := []string{"", "a", `x"y\z`, "<script>&</script>", "line\nbreak\ttab\x00\x7f", "\u2028\u2029", "é€😀", "\xff\xfe"}
	for _, name := range awkward {
		for _, data := range awkward {
			m := Message{Name: name, Data: data, ID: "k"}
			b, err := json.Marshal(ablyMessage{Name: m.Name, Data: m.Data, ID: AblyMessageID(m.ID)})
			if err != nil {
				t.Fatal(err)
			}
			if got := ablyMessageLen(&m); got != len(b) {
				t.Errorf("ablyMessageLen(%q, %q) = %d, the SDK sends %d bytes: %s", name, data, got, len(b), b)
			}
		}
	}
}
