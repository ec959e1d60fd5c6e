package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/heraldrt/herald/functions/auth/rules"
)

const sample = `
channels:
  - pattern: "App.Models.User.{id}"
    allow: "user.sub == id"
  - pattern: "chat.{room}"
    kinds: [presence]
    allow: "room in user.rooms"
    member: {id: "user.sub", info: "{'name': user.name, 'rooms': user.rooms, 'n': 1, 'admin': user.sub == '1'}"}
  - pattern: "orders.{org}-{order}"
    allow: "org == user.org && order.startsWith('o')"
  - pattern: "online"
    allow: "true"
  - pattern: "secret"
    kinds: [private-encrypted]
    allow: "kind == 'private-encrypted' && channel == 'private-encrypted-secret'"
  - pattern: "numbered.{n}"
    kinds: [presence]
    allow: "true"
    member: {id: "user.num"}
user:
  id: "user.sub"
  info: "{'name': user.name}"
`

var alice = map[string]any{"sub": "1", "name": "Alice", "rooms": []any{"lobby", "ops"}, "org": "acme", "num": float64(42)}
var bob = map[string]any{"sub": "2", "name": "Bob", "rooms": []any{"lobby"}, "org": "other", "num": 1.5}

func mustParse(t testing.TB, src string) *rules.Set {
	t.Helper()
	s, err := rules.Parse([]byte(src), "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthorize(t *testing.T) {
	s := mustParse(t, sample)
	tests := []struct {
		name     string
		channel  string
		user     map[string]any
		allowed  bool
		memberID string
		info     string // JSON of the member info, "" for none
		reason   string // substring of the denial reason
	}{
		{"own private user channel", "private-App.Models.User.1", alice, true, "", "", ""},
		{"own presence user channel (no kinds: all kinds)", "presence-App.Models.User.1", alice, true, "1", "", ""},
		{"another user's channel", "private-App.Models.User.2", alice, false, "", "", "denies"},
		{"param must not span dots", "private-App.Models.User.1.extra", alice, false, "", "", "no rule matches"},
		{"anchored at the start", "private-x.App.Models.User.1", alice, false, "", "", "no rule matches"},
		{"literal dots are not wildcards", "private-AppxModels.User.1", alice, false, "", "", "no rule matches"},
		{"empty param does not match", "private-App.Models.User.", alice, false, "", "", "no rule matches"},
		{"presence room member", "presence-chat.ops", alice, true, "1", `{"admin":true,"n":1,"name":"Alice","rooms":["lobby","ops"]}`, ""},
		{"presence room not in claims", "presence-chat.ops", bob, false, "", "", "denies"},
		{"kinds restricts", "private-chat.lobby", alice, false, "", "", "no rule matches"},
		{"two params split on literal", "private-orders.acme-o17", alice, true, "", "", ""},
		{"two params, wrong org", "private-orders.acme-o17", bob, false, "", "", "denies"},
		{"online for everyone", "presence-online", bob, true, "2", "", ""},
		{"encrypted kind and channel variables", "private-encrypted-secret", bob, true, "", "", ""},
		{"encrypted-only rule skips private", "private-secret", bob, false, "", "", "no rule matches"},
		{"whole-number id from a numeric claim", "presence-numbered.x", alice, true, "42", "", ""},
		{"fractional id refused", "presence-numbered.x", bob, false, "", "", "not a whole number"},
		{"missing claim is a denial, not a crash", "presence-chat.lobby", map[string]any{"sub": "3"}, false, "", "", "no such key"},
		{"public channels never match", "App.Models.User.1", alice, false, "", "", "no rule matches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := s.Authorize(context.Background(), tt.channel, tt.user)
			if d.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v (reason %q)", d.Allowed, tt.allowed, d.Reason)
			}
			if !tt.allowed {
				if !strings.Contains(d.Reason, tt.reason) {
					t.Errorf("reason %q does not contain %q", d.Reason, tt.reason)
				}
				return
			}
			if d.Member.ID != tt.memberID {
				t.Errorf("member id = %q, want %q", d.Member.ID, tt.memberID)
			}
			info := ""
			if d.Member.Info != nil {
				b, _ := json.Marshal(d.Member.Info)
				info = string(b)
			}
			if info != tt.info {
				t.Errorf("member info = %s, want %s", info, tt.info)
			}
		})
	}
}

func TestUser(t *testing.T) {
	s := mustParse(t, sample)
	m, err := s.User(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "1" || m.Info["name"] != "Alice" {
		t.Errorf("user = %+v", m)
	}
	def := mustParse(t, "channels: []\n")
	m, err = def.User(context.Background(), map[string]any{"sub": "12345"})
	if err != nil || m.ID != "12345" || m.Info != nil {
		t.Errorf("default user = %+v, %v", m, err)
	}
	if _, err := def.User(context.Background(), map[string]any{"sub": true}); err == nil {
		t.Error("a boolean id must be refused")
	}
}

// TestParseErrors checks that every broken rules file stops start-up with a
// message naming the rule and the problem.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"does not compile", "channels:\n  - pattern: a.{id}\n    allow: \"user.sub ==\"\n", []string{`channels[0] ("a.{id}")`, "allow", "does not compile"}},
		{"unknown variable", "channels:\n  - pattern: a\n  - pattern: b.{id}\n    allow: \"room == 'x'\"\n", []string{`channels[0] ("a")`, "allow is empty"}},
		{"unknown variable in second rule", "channels:\n  - pattern: a\n    allow: 'true'\n  - pattern: b.{id}\n    allow: \"room == 'x'\"\n", []string{`channels[1] ("b.{id}")`, "undeclared reference", "room"}},
		{"allow not bool", "channels:\n  - pattern: a\n    allow: \"'yes'\"\n", []string{`channels[0]`, "yields string, want bool"}},
		{"member info not a map", "channels:\n  - pattern: a\n    allow: 'true'\n    member: {info: \"[1]\"}\n", []string{"member: info", "want map"}},
		{"bad member id", "channels:\n  - pattern: a\n    allow: 'true'\n    member: {id: \"user.\"}\n", []string{"member: id", "does not compile"}},
		{"prefix in pattern", "channels:\n  - pattern: private-a\n    allow: 'true'\n", []string{"without the channel prefix"}},
		{"bad kind", "channels:\n  - pattern: a\n    kinds: [public]\n    allow: 'true'\n", []string{`kind "public"`}},
		{"unknown field", "channels:\n  - pattern: a\n    alow: 'true'\n", []string{"alow"}},
		{"unbalanced brace", "channels:\n  - pattern: a.{id\n    allow: 'true'\n", []string{"'{' without '}'"}},
		{"stray close brace", "channels:\n  - pattern: a.id}\n    allow: 'true'\n", []string{"'}' without '{'"}},
		{"reserved param", "channels:\n  - pattern: a.{user}\n    allow: 'true'\n", []string{"reserved"}},
		{"bad param name", "channels:\n  - pattern: a.{1x}\n    allow: 'true'\n", []string{"not a name"}},
		{"duplicate param", "channels:\n  - pattern: a.{x}.{x}\n    allow: 'true'\n", []string{"twice"}},
		{"adjacent params", "channels:\n  - pattern: a.{x}{y}\n    allow: 'true'\n", []string{"separated"}},
		{"bad literal char", "channels:\n  - pattern: a:{x}\n    allow: 'true'\n", []string{"may contain only"}},
		{"empty pattern", "channels:\n  - allow: 'true'\n", []string{"pattern is empty"}},
		{"bad user id", "user: {id: \"user..\"}\n", []string{"user: id"}},
		{"not yaml", "channels: [\n", []string{"rules test"}},
		{"misspelt parameter", "channels:\n  - pattern: a.{room}\n    allow: \"rom in user.rooms\"\n", []string{`channels[0] ("a.{room}")`, "allow", "undeclared reference to 'rom'"}},
		{"unsupported construct", "channels:\n  - pattern: a\n    allow: \"type(user.sub) == string\"\n", []string{`channels[0] ("a")`, "allow", "type is not supported"}},
		{"bytes literal", "channels:\n  - pattern: a\n    allow: \"user.sub == b'1'\"\n", []string{`channels[0] ("a")`, "bytes literals are not supported"}},
		{"wrong arity", "channels:\n  - pattern: a\n    allow: \"size(user.rooms, 1) > 0\"\n", []string{`channels[0] ("a")`, "no matching overload for 'size'"}},
		{"method arity", "channels:\n  - pattern: a\n    allow: \"user.sub.startsWith()\"\n", []string{"no matching overload for 'startsWith'"}},
		{"allow is an int", "channels:\n  - pattern: a\n    allow: \"1\"\n", []string{"yields int, want bool"}},
		{"allow is a list", "channels:\n  - pattern: a\n    allow: \"user.rooms.map(r, r)\"\n", []string{"yields list(dyn), want bool"}},
		{"type error", "channels:\n  - pattern: a\n    allow: \"user.sub == 1 + 'x'\"\n", []string{"no matching overload for '_+_' applied to '(int, string)'"}},
		{"field of a string", "channels:\n  - pattern: a\n    allow: \"channel.name == 'x'\"\n", []string{"does not support field selection"}},
		{"member info a string", "channels:\n  - pattern: a\n    allow: 'true'\n    member: {info: \"user.name + '!'\"}\n", []string{"member: info", "yields string, want map(string, dyn)"}},
		{"bad constant regex", "channels:\n  - pattern: a\n    allow: \"user.sub.matches('[')\"\n", []string{"invalid regular expression"}},
		{"too deep", "channels:\n  - pattern: a\n    allow: \"" + strings.Repeat("(", 100) + "true" + strings.Repeat(")", 100) + "\"\n", []string{"nests deeper"}},
		{"too long", "channels:\n  - pattern: a\n    allow: \"" + strings.Repeat("true && ", 600) + "true\"\n", []string{"the limit is"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Parse([]byte(tt.src), "test")
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestCostLimit checks that an expensive condition is stopped, and stopping
// it is a denial.
func TestCostLimit(t *testing.T) {
	s := mustParse(t, "channels:\n  - pattern: a\n    allow: \"user.xs.all(a, user.xs.all(b, user.xs.all(c, a + b + c >= 0)))\"\n")
	xs := make([]any, 200)
	for i := range xs {
		xs[i] = float64(i)
	}
	d := s.Authorize(context.Background(), "private-a", map[string]any{"xs": xs})
	if d.Allowed || !strings.Contains(d.Reason, "cost") {
		t.Errorf("decision = %+v, want a cost-limit denial", d)
	}
}

// TestEvaluationErrors checks that a condition failing for one user is a
// denial naming the rule and the cause, never a panic or an allow.
func TestEvaluationErrors(t *testing.T) {
	tests := []struct {
		allow  string
		claims map[string]any
		reason string
	}{
		{"user.n + 1 > 0", map[string]any{"n": "1"}, "no such overload"},
		{"int(user.n) * 9223372036854775807 > 0", map[string]any{"n": 2.0}, "integer overflow"},
		{"10 / int(user.n) > 0", map[string]any{"n": 0.0}, "division by zero"},
		{"user.rooms[3] == 'x'", map[string]any{"rooms": []any{"a"}}, "index out of bounds"},
		{"user.org.id == 'acme'", map[string]any{"org": "acme"}, "does not support field selection"},
		{"user.re.matches('x') || user.sub.matches(user.re)", map[string]any{"sub": "x", "re": "("}, "error parsing regexp"},
		{"user.sub", map[string]any{"sub": "1"}, "allow yields string, not a bool"},
	}
	for _, tt := range tests {
		t.Run(tt.allow, func(t *testing.T) {
			s := mustParse(t, "channels:\n  - pattern: a\n    allow: \""+tt.allow+"\"\n")
			d := s.Authorize(context.Background(), "private-a", tt.claims)
			if d.Allowed || !strings.Contains(d.Reason, `channels[0] ("a")`) || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("decision = %+v, want a denial naming the rule and %q", d, tt.reason)
			}
		})
	}
}

// TestErrorAbsorbed checks CEL's || and &&: a missing claim on one side
// does not matter when the other side decides.
func TestErrorAbsorbed(t *testing.T) {
	s := mustParse(t, "channels:\n  - pattern: a\n    allow: \"user.admin || user.sub == '1'\"\n  - pattern: b\n    allow: \"user.banned && false || user.sub == '1'\"\n")
	// For sub 2, a's condition is an error (user.admin is missing and the
	// other side is false); b's is false (the error is absorbed by "&&
	// false").
	for name, reason := range map[string]string{"private-a": "no such key: admin", "private-b": "denies"} {
		if d := s.Authorize(context.Background(), name, map[string]any{"sub": "1"}); !d.Allowed {
			t.Errorf("%s: %s", name, d.Reason)
		}
		if d := s.Authorize(context.Background(), name, map[string]any{"sub": "2"}); d.Allowed || !strings.Contains(d.Reason, reason) {
			t.Errorf("%s for sub 2: %+v, want a denial saying %q", name, d, reason)
		}
	}
}

// TestCancelled checks that a long evaluation notices its request is gone.
func TestCancelled(t *testing.T) {
	s := mustParse(t, "channels:\n  - pattern: a\n    allow: \"user.xs.all(a, user.xs.all(b, a + b >= 0))\"\n")
	xs := make([]any, 250)
	for i := range xs {
		xs[i] = float64(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := s.Authorize(ctx, "private-a", map[string]any{"xs": xs})
	if d.Allowed || !strings.Contains(d.Reason, "context canceled") {
		t.Errorf("decision = %+v, want a denial for the cancelled request", d)
	}
}

func TestFirstMatchWins(t *testing.T) {
	s := mustParse(t, "channels:\n  - pattern: a.{x}\n    allow: 'false'\n  - pattern: a.b\n    allow: 'true'\n")
	if d := s.Authorize(context.Background(), "private-a.b", alice); d.Allowed {
		t.Error("the first matching rule must decide, even when a later one would allow")
	}
	rule, params, ok := s.Match("private-a.b")
	if !ok || !strings.HasPrefix(rule, "channels[0]") || params["x"] != "b" {
		t.Errorf("Match = %q %v %v", rule, params, ok)
	}
}

// TestConcurrent decides from many goroutines at once with one Set, as
// the Lambda handler does; run with -race it shows that evaluation shares
// no mutable state.
func TestConcurrent(t *testing.T) {
	s := mustParse(t, strings.Replace(sample, "channels:\n", "channels:\n  - pattern: \"loop.{x}\"\n    allow: \"user.rooms.exists(r, r == x) && user.rooms.map(r, r + x).size() >= 1\"\n", 1))
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 200 {
				user, room := alice, "ops"
				if (g+i)%2 == 1 {
					user, room = bob, "lobby"
				}
				d := s.Authorize(context.Background(), "presence-chat."+room, user)
				l := s.Authorize(context.Background(), "private-loop."+room, user)
				if !d.Allowed || d.Member.ID != user["sub"] || !l.Allowed {
					err = fmt.Errorf("%s in %s: %+v / %+v", user["sub"], room, d, l)
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
