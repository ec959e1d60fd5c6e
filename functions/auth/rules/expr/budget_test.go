package expr

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// allocated is what f allocates, in bytes (the Go runtime's count).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// stepSlack is what one step may allocate without being charged: a boxed
// number, an error value. Far below the size of anything a builtin builds.
const stepSlack = 256

// TestMemoryLimit runs rules an operator could write, over claims a token
// can carry (6 KB), that allocate hundreds of MB when a builtin builds its
// output before charging for it. Each must stop at the memory limit having
// allocated about the limit, never the output it was about to build.
func TestMemoryLimit(t *testing.T) {
	claim := strings.Repeat("x", 6<<10)
	pattern := strings.Repeat("xy", 500)
	for _, tc := range []struct{ name, src string }{
		// 18,000 references to one 6 KB claim, joined: 108 MB.
		{"join", `(user.s.split('') + user.s.split('') + user.s.split('')).map(c, user.s).join().size() > 0`},
		{"join with a separator", `user.s.split('').map(c, 'a').join(user.s).size() > 0`},
		// 6,000 concatenations of 12 KB, all kept: 72 MB.
		{"concatenation in a loop", `user.s.split('').map(c, user.s + user.s).size() > 0`},
		{"lists built in a loop", `user.s.split('').map(c, user.s.split('')).size() > 0`},
		{"maps built in a loop", `user.s.split('').map(c, {c: user.s.split('')}).size() > 0`},
		{"case mapping in a loop", `user.s.split('').map(c, user.s.upperAscii()).size() > 0`},
		{"substring in a loop", `user.s.split('').map(c, user.s.substring(1)).size() > 0`},
		{"replace", `user.s.replace('x', user.s).size() > 0`},
		// A 1,006-byte pattern built at run time: RE2 compiles a program
		// of a million instructions, 220 MB.
		{"matches with a dynamic pattern", `user.s.matches('(' + user.p + '){1000}')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.src, testVars)
			if err != nil {
				t.Fatal(err)
			}
			vals := []any{map[string]any{"s": claim, "p": pattern}, "", "", ""}
			var evalErr error
			n := allocated(func() { _, evalErr = p.Eval(context.Background(), vals) })
			if !errors.Is(evalErr, ErrCostLimit) {
				t.Errorf("error %v, want the budget's", evalErr)
			}
			if limit := uint64(2*MemoryLimit + 64<<10); n > limit {
				t.Errorf("allocated %d KB, want at most %d KB (twice the %d KB limit)", n>>10, limit>>10, MemoryLimit>>10)
			}
		})
	}
}

// TestMatchesAfterBudgetSpent: once the budget is spent, matches compiles
// no pattern, however small its own charge.
func TestMatchesAfterBudgetSpent(t *testing.T) {
	e := &evaluator{ctx: context.Background(), limit: 1, steps: 2, abort: ErrCostLimit}
	pattern := "(" + strings.Repeat("xy", 500) + "){1000}"
	var err error
	if n := allocated(func() { _, err = evalMatches(e, "xy", pattern, absent, absent) }); n > 64<<10 || !errors.Is(err, ErrCostLimit) {
		t.Errorf("matches on a spent budget: allocated %d KB, error %v; want nothing compiled and the budget's error", n>>10, err)
	}
}

// TestBudgetBytes: the memory limit is the caller's to set, and an
// ordinary rule fits well within the default.
func TestBudgetBytes(t *testing.T) {
	p, err := Compile(`user.s.split('').map(c, c + c).join().size() == 2 * user.s.size()`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	vals := []any{map[string]any{"s": strings.Repeat("x", 1000)}, "", "", ""}
	if v, err := p.Eval(context.Background(), vals); v != true || err != nil {
		t.Fatalf("default budget: %v %v", v, err)
	}
	if _, err := p.EvalBudget(context.Background(), vals, Budget{Bytes: 16 << 10}); !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("16 KB budget: error %v, want ErrMemoryLimit", err)
	}

	ordinary, err := Compile(`user.sub == id && user.groups.exists(g, g.startsWith('team-')) && {'name': user.name, 'tags': user.groups.map(g, g.upperAscii())}.size() == 2`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"sub": "42", "name": "Alice", "groups": []any{"team-a", "team-b", "ops"}}
	if v, err := ordinary.EvalBudget(context.Background(), []any{claims, "", "", "42"}, Budget{Bytes: 4 << 10}); v != true || err != nil {
		t.Fatalf("an ordinary rule within 4 KB: %v %v", v, err)
	}
}

// FuzzBudget evaluates arbitrary expressions over arbitrary claims with a
// small budget and requires that what an evaluation allocates stays within
// its memory limit plus what its steps may allocate uncharged.
func FuzzBudget(f *testing.F) {
	for _, src := range differential {
		f.Add(src, testClaims)
	}
	// Each of these allocated megabytes before it was charged.
	long := `{"s": "` + strings.Repeat("x", 2000) + `"}`
	f.Add(`user.s.split('').map(c, 'a').join(user.s).size() > 0`, long)
	f.Add(`user.s.matches('(' + user.s.substring(0, 100) + '){1000}')`, long)
	f.Add(`user.s.replace('', user.s + user.s).size() > 0`, `{"s": "abcdefghijklmnopqrstuvwxyz"}`)
	f.Add(`[user.s, user.s].map(a, [a, a].map(b, a + b)).size() > 0`, `{"s": "abcdefghijklmnopqrstuvwxyz"}`)
	budget := Budget{Steps: 10_000, Bytes: 64 << 10}
	limit := uint64(budget.Bytes + budget.Steps*stepSlack + 64<<10)
	f.Fuzz(func(t *testing.T, src, doc string) {
		if len(src) > MaxLength || len(doc) > 16<<10 {
			return
		}
		var claims map[string]any
		if json.Unmarshal([]byte(doc), &claims) != nil || claims == nil {
			return
		}
		p, err := Compile(src, testVars)
		if err != nil {
			return
		}
		vals := []any{claims, "private-a.b", "private", "b"}
		if n := allocated(func() { p.EvalBudget(context.Background(), vals, budget) }); n > limit {
			t.Fatalf("%s over %.200s allocated %d KB, over %d KB", src, doc, n>>10, limit>>10)
		}
	})
}
