package protocol

import (
	"regexp"
	"strings"
	"testing"
)

func TestValidSocketID(t *testing.T) {
	long := strings.Repeat("9", 64)
	cases := []struct {
		id   string
		want bool
	}{
		{"123.456", true},
		{"0.0", true},
		{"131160.155806628", true},
		{long + "." + long, true},
		{"", false},
		{"123", false},
		{"123.", false},
		{".456", false},
		{".", false},
		{"1.2.3", false},
		{"123.456:private-x", false},
		{":123.456", false},
		{"123.456\n", false},
		{" 123.456", false},
		{"-1.2", false},
		{"+1.2", false},
		{"1e3.2", false},
		{"١٢٣.٤٥٦", false}, // Arabic-Indic digits: \d is ASCII only
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			if got := ValidSocketID(c.id); got != c.want {
				t.Fatalf("ValidSocketID(%q) = %v, want %v", c.id, got, c.want)
			}
		})
	}
}

// FuzzValidSocketID holds ValidSocketID to the regular expression Pusher's
// server libraries check socket ids with (\d is ASCII in Go's regexp).
func FuzzValidSocketID(f *testing.F) {
	pusher := regexp.MustCompile(`^\d+\.\d+$`)
	for _, s := range []string{"1.1", "123456.654321", ".1", "1.", "1..1", "1.1.1", "a.1", "١.١", "", "12", "1.1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidSocketID(s), pusher.MatchString(s); got != want {
			t.Fatalf("ValidSocketID(%q) = %v, the expression says %v", s, got, want)
		}
	})
}
