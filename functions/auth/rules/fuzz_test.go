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
