package rules_test

import (
	"strings"
	"testing"

	"github.com/heraldrt/herald/functions/auth/rules"
)

// TestParseErrorsNameTheShape: a malformed rules file is explained in the
// file's own terms, never by a Go type name.
func TestParseErrorsNameTheShape(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"bare list", "- pattern: \"App.Models.User.{id}\"\n  allow: \"user.sub == id\"\n", "rules CHANNELS: line 1: the rules are a bare list: put them under a channels: key"},
		{"channels a mapping", "channels:\n  pattern: x\n", "line 2: found a mapping where a list of rules under channels: (- pattern: ...) is expected"},
		{"unknown rule key", "channels:\n  - pattern: x\n    allowed: \"true\"\n", `line 3: unknown key "allowed" (the keys here are pattern, kinds, allow, member)`},
		{"unknown top key", "rules:\n  - pattern: x\n", `line 1: unknown key "rules" (the keys here are channels, user)`},
		{"kinds a string", "channels:\n  - pattern: x\n    kinds: private\n    allow: \"true\"\n", "line 3: found a string where a list of strings is expected"},
		{"member a string", "channels:\n  - pattern: x\n    allow: \"true\"\n    member: user.sub\n", "line 4: found a string where a mapping with id and info is expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rules.Parse([]byte(tc.yaml), "CHANNELS")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v\nwant %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "rules.") || strings.Contains(err.Error(), "!!") {
				t.Errorf("the error names a Go type or a YAML tag: %v", err)
			}
		})
	}
}
