package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/heraldrt/herald/functions/auth/rules/expr"
	"github.com/heraldrt/herald/shared/protocol"
)

// pattern is a compiled channel pattern such as "App.Models.User.{id}".
type pattern struct {
	src    string
	re     *regexp.Regexp
	params []string
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func compilePattern(src string) (*pattern, error) {
	if src == "" {
		return nil, fmt.Errorf("pattern is empty")
	}
	for _, k := range []protocol.Kind{protocol.PrivateEncrypted, protocol.Private, protocol.Presence} {
		if strings.HasPrefix(src, k.Prefix()) {
			return nil, fmt.Errorf("pattern %q starts with %q: write patterns without the channel prefix, as in Laravel (use kinds: to restrict the kind)", src, k.Prefix())
		}
	}
	var re strings.Builder
	re.WriteString("^")
	p := &pattern{src: src}
	seen := map[string]bool{}
	rest := src
	lastWasParam := false
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		closeAt := strings.IndexByte(rest, '}')
		if closeAt >= 0 && (open < 0 || closeAt < open) {
			return nil, fmt.Errorf("pattern %q: '}' without '{'", src)
		}
		lit := rest
		if open >= 0 {
			lit = rest[:open]
		}
		if lit != "" {
			if err := checkLiteral(src, lit); err != nil {
				return nil, err
			}
			re.WriteString(regexp.QuoteMeta(lit))
			lastWasParam = false
		}
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("pattern %q: '{' without '}'", src)
		}
		name := rest[open+1 : open+end]
		switch {
		case !identRE.MatchString(name):
			return nil, fmt.Errorf("pattern %q: parameter {%s} is not a name (letters, digits, _; not starting with a digit)", src, name)
		case expr.Reserved(name) || slices.ContainsFunc(baseVars, func(v expr.Var) bool { return v.Name == name }):
			// A reserved word or a variable every rule sees: an expression
			// could not refer to the parameter.
			return nil, fmt.Errorf("pattern %q: parameter {%s} uses a reserved name", src, name)
		case seen[name]:
			return nil, fmt.Errorf("pattern %q: parameter {%s} appears twice", src, name)
		case lastWasParam:
			return nil, fmt.Errorf("pattern %q: parameters must be separated by text, {%s} follows another parameter", src, name)
		}
		seen[name] = true
		p.params = append(p.params, name)
		// One segment: Validate has already limited the name to Pusher's
		// charset, so "not a dot" means letters, digits and _-=@,;
		re.WriteString(`([^.]+)`)
		lastWasParam = true
		rest = rest[open+end+1:]
	}
	re.WriteString("$")
	var err error
	p.re, err = regexp.Compile(re.String())
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", src, err)
	}
	return p, nil
}

func checkLiteral(src, lit string) error {
	// Validate a stand-in public name holding the literal ("x" keeps a
	// literal that happens to start like a prefix from being read as one),
	// so a pattern only contains characters a channel name can.
	if err := protocol.ValidateChannel("x" + lit); err != nil && strings.Contains(err.Error(), protocol.ChannelCharsetMessage) {
		return fmt.Errorf("pattern %q: %s", src, protocol.ChannelCharsetMessage)
	}
	return nil
}

// match reports whether base (a channel name without its prefix) matches,
// and the parameters it binds.
func (p *pattern) match(base string) (map[string]string, bool) {
	m := p.re.FindStringSubmatch(base)
	if m == nil {
		return nil, false
	}
	params := make(map[string]string, len(p.params))
	for i, name := range p.params {
		params[name] = m[i+1]
	}
	return params, true
}
