package rules

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/heraldrt/herald/functions/auth/rules/expr"
	"github.com/heraldrt/herald/shared/protocol"
)

// File is the YAML form of a rules file.
type File struct {
	// Channels are tried in order; the first whose pattern and kinds match
	// decides.
	Channels []ChannelRule `yaml:"channels"`
	// User says who a signed-in user is (pusher:signin). Without it the id
	// is user.sub.
	User *MemberRule `yaml:"user"`
}

// ChannelRule is one entry of a rules file.
type ChannelRule struct {
	// Pattern is the channel name without its prefix; {name} binds one
	// dot-free segment.
	Pattern string `yaml:"pattern"`
	// Kinds restricts the rule to some kinds: private, presence,
	// private-encrypted. Empty means all three.
	Kinds []string `yaml:"kinds"`
	// Allow is a condition (see package expr) that must yield true.
	Allow string `yaml:"allow"`
	// Member says who a presence member is. Without it the id is user.sub
	// and there is no info.
	Member *MemberRule `yaml:"member"`
}

// MemberRule holds expressions for a member's (or signed-in user's) id
// and info.
type MemberRule struct {
	// ID must yield a string (or a whole number, written in decimal).
	ID string `yaml:"id"`
	// Info, when set, must yield a map with string keys: any JSON object.
	Info string `yaml:"info"`
}

// Member is who a presence member or signed-in user is.
type Member struct {
	ID string
	// Info is a JSON object (nil when the rule has none). Values are
	// string, bool, nil, int64, uint64, float64, []any and map[string]any.
	Info map[string]any
}

// Decision is the answer for one channel.
type Decision struct {
	// Allowed is true only when a rule matched and its condition held.
	Allowed bool
	// Rule names the rule that decided, "" when none matched.
	Rule string
	// Reason says why not, in words for the developer.
	Reason string
	// Member is set for allowed presence channels.
	Member Member
}

// Set is a compiled rules file, safe for concurrent use.
type Set struct {
	rules  []*rule
	user   *memberProgram
	budget expr.Budget
}

// Option changes how a Set evaluates.
type Option func(*Set)

// MaxBytes bounds what one expression's evaluation may allocate (zero:
// expr.MemoryLimit). An evaluation over it is refused, as one over its
// steps is.
func MaxBytes(n int) Option { return func(s *Set) { s.budget.Bytes = n } }

type rule struct {
	name    string
	pattern *pattern
	kinds   []protocol.Kind
	allow   *expr.Program
	member  *memberProgram
}

type memberProgram struct {
	id   *expr.Program
	info *expr.Program
}

// baseVars are the variables every expression sees, in the order their
// values are passed; a rule's pattern parameters follow them.
var baseVars = []expr.Var{
	{Name: "user", Type: expr.MapOf(expr.String, expr.Dyn)},
	{Name: "channel", Type: expr.String},
	{Name: "kind", Type: expr.String},
}

var infoType = expr.MapOf(expr.String, expr.Dyn)

// DefaultMemberID is the expression used when a rule gives no member id.
const DefaultMemberID = "user.sub"

// Parse reads and compiles a rules file. source names it in errors (a path,
// "CHANNELS", "embedded default").
func Parse(data []byte, source string, opts ...Option) (*Set, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("rules %s: %w", source, describeYAML(err))
	}
	s, err := Compile(f, opts...)
	if err != nil {
		return nil, fmt.Errorf("rules %s: %w", source, err)
	}
	return s, nil
}

// Compile compiles a File.
func Compile(f File, opts ...Option) (*Set, error) {
	s := &Set{}
	for _, o := range opts {
		o(s)
	}
	for i, cr := range f.Channels {
		r, err := compileRule(i, cr)
		if err != nil {
			return nil, err
		}
		s.rules = append(s.rules, r)
	}
	var err error
	if s.user, err = compileMember(baseVars, f.User); err != nil {
		return nil, fmt.Errorf("user: %w", err)
	}
	return s, nil
}

func compileRule(i int, cr ChannelRule) (*rule, error) {
	r := &rule{name: fmt.Sprintf("channels[%d] (%q)", i, cr.Pattern)}
	var err error
	if r.pattern, err = compilePattern(cr.Pattern); err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	for _, k := range cr.Kinds {
		kind, err := protocol.ParseKind(k)
		if err != nil || !kind.NeedsAuth() {
			return nil, fmt.Errorf("%s: kind %q: rules apply to private, presence and private-encrypted channels", r.name, k)
		}
		r.kinds = append(r.kinds, kind)
	}
	if strings.TrimSpace(cr.Allow) == "" {
		return nil, fmt.Errorf("%s: allow is empty (write \"true\" to let every signed-in user in)", r.name)
	}
	vars := slices.Clone(baseVars)
	for _, p := range r.pattern.params {
		vars = append(vars, expr.Var{Name: p, Type: expr.String})
	}
	if r.allow, err = compileExpr(vars, cr.Allow, expr.Bool); err != nil {
		return nil, fmt.Errorf("%s: allow: %w", r.name, err)
	}
	if r.member, err = compileMember(vars, cr.Member); err != nil {
		return nil, fmt.Errorf("%s: member: %w", r.name, err)
	}
	return r, nil
}

// compileMember compiles m, which may be nil: the defaults then.
func compileMember(vars []expr.Var, m *MemberRule) (*memberProgram, error) {
	if m == nil {
		m = &MemberRule{}
	}
	id := m.ID
	if strings.TrimSpace(id) == "" {
		id = DefaultMemberID
	}
	mp := &memberProgram{}
	var err error
	if mp.id, err = compileExpr(vars, id, nil); err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	if strings.TrimSpace(m.Info) != "" {
		if mp.info, err = compileExpr(vars, m.Info, infoType); err != nil {
			return nil, fmt.Errorf("info: %w", err)
		}
	}
	return mp, nil
}

// compileExpr compiles and type-checks expr. want, when set, is the type
// the result must have; dyn results (a claim's value) are checked when
// evaluated.
func compileExpr(vars []expr.Var, src string, want *expr.Type) (*expr.Program, error) {
	prg, err := expr.Compile(src, vars)
	if err != nil {
		return nil, fmt.Errorf("%q does not compile: %w", src, err)
	}
	if want != nil {
		if out := prg.Type(); !out.AssignableTo(want) {
			return nil, fmt.Errorf("%q yields %s, want %s", src, out, want)
		}
	}
	return prg, nil
}

// Authorize decides whether the user with these claims may join name. name
// must already be a valid channel name of a kind that needs authorization.
// Claims are JSON values as a token decodes them (map[string]any).
func (s *Set) Authorize(ctx context.Context, name string, claims map[string]any) Decision {
	kind := protocol.KindOf(name)
	r, params := s.match(kind, protocol.Base(name))
	if r == nil {
		return Decision{Reason: fmt.Sprintf("no rule matches %s channel %q", kind, name)}
	}
	// The variables in the order of baseVars, then the parameters in the
	// pattern's order (params[0] is the whole match).
	vars := make([]any, 0, len(baseVars)+len(params)-1)
	vars = append(vars, claims, name, kindNames[kind])
	for _, p := range params[1:] {
		vars = append(vars, p)
	}

	d := Decision{Rule: r.name}
	out, err := r.allow.EvalBudget(ctx, vars, s.budget)
	ok, isBool := out.(bool)
	switch {
	case err != nil:
		d.Reason = fmt.Sprintf("rule %s: allow: %v", r.name, err)
	case !isBool:
		d.Reason = fmt.Sprintf("rule %s: allow yields %s, not a bool", r.name, expr.TypeName(out))
	case !ok:
		d.Reason = fmt.Sprintf("rule %s denies %q", r.name, name)
	case kind == protocol.Presence:
		if d.Member, err = r.member.eval(ctx, vars, s.budget); err != nil {
			d.Reason = fmt.Sprintf("rule %s: member: %v", r.name, err)
		}
	}
	// Every refusal above gives its reason.
	d.Allowed = d.Reason == ""
	return d
}

// User says who the user with these claims is, for user sign-in.
func (s *Set) User(ctx context.Context, claims map[string]any) (Member, error) {
	m, err := s.user.eval(ctx, []any{claims, "", "user"}, s.budget)
	if err != nil {
		return Member{}, fmt.Errorf("user: %w", err)
	}
	return m, nil
}

// Match returns the rule that decides a channel name and the parameters it
// binds; ok is false when no rule matches. It evaluates nothing.
func (s *Set) Match(name string) (rule string, params map[string]string, ok bool) {
	base := protocol.Base(name)
	r, _ := s.match(protocol.KindOf(name), base)
	if r == nil {
		return "", nil, false
	}
	params, _ = r.pattern.match(base)
	return r.name, params, true
}

// kindNames are the values of the kind variable, boxed once.
var kindNames = map[protocol.Kind]any{
	protocol.Private:          protocol.Private.String(),
	protocol.Presence:         protocol.Presence.String(),
	protocol.PrivateEncrypted: protocol.PrivateEncrypted.String(),
}

// match finds the deciding rule and its pattern's submatches: the whole
// base name, then one per parameter.
func (s *Set) match(kind protocol.Kind, base string) (*rule, []string) {
	if !kind.NeedsAuth() {
		return nil, nil
	}
	for _, r := range s.rules {
		if len(r.kinds) > 0 && !slices.Contains(r.kinds, kind) {
			continue
		}
		if m := r.pattern.re.FindStringSubmatch(base); m != nil {
			return r, m
		}
	}
	return nil, nil
}

func (mp *memberProgram) eval(ctx context.Context, vars []any, budget expr.Budget) (Member, error) {
	var m Member
	out, err := mp.id.EvalBudget(ctx, vars, budget)
	if err == nil {
		m.ID, err = idString(out)
	}
	if err != nil {
		return Member{}, fmt.Errorf("id: %w", err)
	}
	if mp.info == nil {
		return m, nil
	}
	out, err = mp.info.EvalBudget(ctx, vars, budget)
	var v any
	if err == nil {
		v, err = native(out, 0)
	}
	if err != nil {
		return Member{}, fmt.Errorf("info: %w", err)
	}
	info, ok := v.(map[string]any)
	if !ok {
		return Member{}, fmt.Errorf("info yields %s, want a map", expr.TypeName(out))
	}
	m.Info = info
	return m, nil
}
