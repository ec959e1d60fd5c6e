package expr

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestType(t *testing.T) {
	tests := []struct{ src, want string }{
		{`user.sub == id`, "bool"},
		{`user.sub`, "dyn"},
		{`{'name': user.name}`, "map(string, dyn)"},
		{`{'n': 1}`, "map(string, int)"},
		{`{}`, "map(dyn, dyn)"},
		{`[1, 2]`, "list(int)"},
		{`[1, 'a']`, "list(dyn)"},
		{`user.rooms.map(r, size(r))`, "list(int)"},
		{`user.rooms.filter(r, true)`, "list(dyn)"},
		{`has(user.name) ? {'name': user.name} : {}`, "map(string, dyn)"},
		{`'a' + id`, "string"},
		{`1.5 * 2.0`, "double"},
		{`null`, "null_type"},
		{`-1`, "int"},
		{`7u % 2u`, "uint"},
	}
	for _, tt := range tests {
		p, err := Compile(tt.src, testVars)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got := p.Type().String(); got != tt.want {
			t.Errorf("%s: type %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestAssignable(t *testing.T) {
	info := MapOf(String, Dyn)
	for _, tt := range []struct {
		t    *Type
		want *Type
		ok   bool
	}{
		{Dyn, Bool, true}, {Bool, Bool, true}, {String, Bool, false}, {Int, Bool, false},
		{MapOf(String, Int), info, true}, {MapOf(Dyn, Dyn), info, true}, {MapOf(Int, Int), info, false},
		{ListOf(Dyn), info, false}, {Null, info, false},
	} {
		if got := tt.t.AssignableTo(tt.want); got != tt.ok {
			t.Errorf("%s assignable to %s = %v, want %v", tt.t, tt.want, got, tt.ok)
		}
	}
}

// TestCompileErrors checks that refusals say what is wrong and where, and
// that constructs outside the language are marked as such.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src, want   string
		unsupported bool
	}{
		{`rom == 'x'`, "undeclared reference to 'rom'", false},
		{`user.sub ==`, "unexpected end of expression", false},
		{`size()`, "no matching overload for 'size'", false},
		{`user.sub.startsWith('a', 'b')`, "no matching overload for 'startsWith'", false},
		{`user.rooms.exists(r)`, "exists takes an iteration variable", false},
		{`user.rooms.exists(1, true)`, "not an identifier", false},
		{`has(user)`, "invalid argument to has()", false},
		{`1 && true`, "expected type 'bool' but found 'int'", false},
		{`'a' < 1`, "no matching overload for '_<_' applied to '(string, int)'", false},
		{`9223372036854775808`, "out of range", false},
		{`'\z'`, "invalid escape", false},
		{`'abc`, "unterminated string", false},
		{`if`, "reserved identifier", false},
		{`user.sub # 1`, "unexpected character", false},
		{`type(user)`, "type is not supported", true},
		{`b'abc'`, "bytes literals are not supported", true},
		{`user.?sub`, "not supported", true},
		{`user[?'sub']`, "not supported", true},
		{`.user`, "leading dot", true},
		{`Msg{a: 1}`, "message construction", true},
		{`{1: 'a'}`, "map keys of type int", true},
		{`'%d'.format([1])`, "format is not supported", true},
		{`strings.quote('a')`, "quote is not supported", true},
		{`timestamp('2020-01-01T00:00:00Z')`, "timestamp is not supported", true},
		{strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nests deeper than", false},
		{strings.Repeat("1 + ", MaxLength/4) + "1", "the limit is", false},
	}
	for _, tt := range tests {
		_, err := Compile(tt.src, testVars)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%.40s: error %v, want an *Error", tt.src, err)
			continue
		}
		if !strings.Contains(e.Error(), tt.want) || e.Unsupported != tt.unsupported {
			t.Errorf("%.40s: %v (unsupported %v), want %q (unsupported %v)", tt.src, e, e.Unsupported, tt.want, tt.unsupported)
		}
	}
}

func TestCostLimit(t *testing.T) {
	p, err := Compile(`user.xs.all(a, user.xs.all(b, user.xs.all(c, a + b + c >= 0)))`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]any, 100)
	for i := range xs {
		xs[i] = float64(i)
	}
	_, err = p.Eval(context.Background(), []any{map[string]any{"xs": xs}, "", "", ""})
	if !errors.Is(err, ErrCostLimit) {
		t.Fatalf("error %v, want ErrCostLimit", err)
	}
	// An error that || would absorb must not hide the limit.
	p, err = Compile(`true || user.xs.map(a, user.xs.map(b, user.xs.map(c, c))).size() > 0`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := p.Eval(context.Background(), []any{map[string]any{"xs": xs}, "", "", ""}); v != true || err != nil {
		t.Fatalf("short circuit: %v %v", v, err)
	}
	p, err = Compile(`user.xs.map(a, user.xs.map(b, user.xs.map(c, c))).size() > 0 || true`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(context.Background(), []any{map[string]any{"xs": xs}, "", "", ""}); !errors.Is(err, ErrCostLimit) {
		t.Fatalf("error %v, want ErrCostLimit even though || true follows", err)
	}
	// Big strings cost by size: doubling a 16 KB claim a few hundred
	// times is stopped.
	p, err = Compile(`user.xs.map(x, user.s + user.s + user.s).size() > 0`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	big := map[string]any{"xs": make([]any, 1000), "s": strings.Repeat("x", 16<<10)}
	if _, err := p.Eval(context.Background(), []any{big, "", "", ""}); !errors.Is(err, ErrCostLimit) {
		t.Fatalf("error %v, want ErrCostLimit for building 48 MB of strings", err)
	}
	// Comparing big values costs by their size, not one step.
	p, err = Compile(`user.xs.all(x, user.big == user.big && !('z' in user.big))`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(context.Background(), []any{map[string]any{"xs": make([]any, 200), "big": make([]any, 5000)}, "", "", ""}); !errors.Is(err, ErrCostLimit) {
		t.Errorf("error %v, want ErrCostLimit for comparing lists of 5000 200 times", err)
	}
	// Work that a single call could make huge is charged before it is
	// done: a search of 8K code points for 8K (64M comparisons), a
	// replacement that would build 256 MB, a pattern of 8K on 16K.
	half := strings.Repeat("a", 8<<10)
	for _, src := range []string{`user.s.indexOf(user.t) >= 0`, `user.s.lastIndexOf(user.t) >= 0`, `user.s.replace('', user.s).size() > 0`, `user.s.matches(user.t)`} {
		p, err := Compile(src, testVars)
		if err != nil {
			t.Fatal(err)
		}
		claims := map[string]any{"s": half + half, "t": half + "b"}
		if _, err := p.Eval(context.Background(), []any{claims, "", "", ""}); !errors.Is(err, ErrCostLimit) {
			t.Errorf("%s: error %v, want ErrCostLimit", src, err)
		}
	}
}

// TestGoValues checks that claims built in Go (not decoded from JSON) are
// widened, and that the caller's slice is not written to.
func TestGoValues(t *testing.T) {
	p, err := Compile(`user.n + 1 == 3 && user.u == 2u && user.f == 1.5 && 'b' in user.tags && user.n == id.size()`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	vals := []any{map[string]any{"n": 2, "u": uint32(2), "f": float32(1.5), "tags": []string{"a", "b"}}, "", "", "ab"}
	v, err := p.Eval(context.Background(), vals)
	if v != true || err != nil {
		t.Fatalf("= %v, %v", v, err)
	}
	if _, err := p.Eval(context.Background(), vals[:2]); err == nil {
		t.Error("too few values must be an error")
	}
	p, err = Compile(`user.xs.exists(x, x == 1)`, testVars)
	if err != nil {
		t.Fatal(err)
	}
	vals = []any{map[string]any{"xs": []any{1.0}}, "c", "k", "i"}
	if v, err := p.Eval(context.Background(), vals); v != true || err != nil {
		t.Fatalf("= %v, %v", v, err)
	}
	if vals[1] != "c" || vals[2] != "k" || vals[3] != "i" || len(vals) != 4 {
		t.Errorf("Eval changed its argument: %v", vals)
	}
}
