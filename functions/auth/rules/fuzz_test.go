package rules

import (
	"strings"
	"testing"
)

// FuzzPatternMatch checks the matcher's promises on arbitrary patterns and
// names: a match binds only non-empty, dot-free parameters, and putting
// them back into the pattern gives exactly the name (anchored, no
// skipped text).
func FuzzPatternMatch(f *testing.F) {
	f.Add("App.Models.User.{id}", "App.Models.User.42")
	f.Add("App.Models.User.{id}", "App.Models.User.42.x")
	f.Add("chat.{room}", "chat.")
	f.Add("orders.{org}-{order}", "orders.a-b-c")
	f.Add("{a}.{b}", "x.y")
	f.Add("online", "online")
	f.Add("a.{x}", "a.b;c=d@e,f")
	f.Fuzz(func(t *testing.T, src, base string) {
		p, err := compilePattern(src)
		if err != nil {
			return
		}
		params, ok := p.match(base)
		if !ok {
			if len(p.params) == 0 && src == base {
				t.Fatalf("literal pattern %q does not match itself", src)
			}
			return
		}
		rebuilt := src
		for _, name := range p.params {
			v := params[name]
			if v == "" || strings.Contains(v, ".") {
				t.Fatalf("pattern %q on %q bound %s=%q", src, base, name, v)
			}
			rebuilt = strings.Replace(rebuilt, "{"+name+"}", v, 1)
		}
		if rebuilt != base {
			t.Fatalf("pattern %q matched %q but rebuilds %q", src, base, rebuilt)
		}
	})
}

// FuzzAuthorize runs arbitrary channel names and subjects through a
// compiled rules file: evaluation never panics, and the user-channel rule
// lets a user into exactly their own channels and no other.
func FuzzAuthorize(f *testing.F) {
	s, err := Parse([]byte(`
channels:
  - pattern: "App.Models.User.{id}"
    allow: "user.sub == id"
  - pattern: "chat.{room}"
    allow: "room in user.rooms"
    member: {id: "user.sub", info: "{'room': room}"}
`), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("private-App.Models.User.1", "1")
	f.Add("presence-App.Models.User.1.2", "1.2")
	f.Add("private-App.Models.User.", "")
	f.Add("presence-chat.lobby", "x")
	f.Add("private-encrypted-App.Models.User.a;b", "a;b")
	f.Fuzz(func(t *testing.T, name, sub string) {
		d := s.Authorize(t.Context(), name, map[string]any{"sub": sub, "rooms": []any{"lobby"}})
		if !d.Allowed {
			if d.Reason == "" {
				t.Fatal("a denial without a reason")
			}
			return
		}
		base := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(name, "private-encrypted-"), "private-"), "presence-")
		own := base == "App.Models.User."+sub && sub != "" && !strings.Contains(sub, ".")
		room := base == "chat.lobby"
		if !own && !room {
			t.Fatalf("%q allowed for sub %q", name, sub)
		}
	})
}
