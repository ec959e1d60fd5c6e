package rules

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// shapes describe, in the words of the rules file, what yaml.v3 names by
// Go type: an operator writes YAML and never sees these types.
var shapes = map[string]string{
	"rules.File":          "a mapping with a channels: key (and optionally user:)",
	"rules.ChannelRule":   "a rule: a mapping with pattern, and optionally kinds, allow and member",
	"[]rules.ChannelRule": "a list of rules under channels: (- pattern: ...)",
	"rules.MemberRule":    "a mapping with id and info",
	"*rules.MemberRule":   "a mapping with id and info",
	"[]string":            "a list of strings",
	"string":              "a string",
}

var (
	cannotUnmarshal = regexp.MustCompile(`^(line \d+: )?cannot unmarshal !!(\w+) (?:` + "`[^`]*`" + ` )?into (\S+)$`)
	unknownField    = regexp.MustCompile(`^(line \d+: )?field (\S+) not found in type (\S+)$`)
	yamlKinds       = map[string]string{"seq": "a list", "map": "a mapping", "str": "a string", "int": "a number", "float": "a number", "bool": "a boolean", "null": "nothing"}
)

// describeYAML rewrites yaml.v3's type errors in terms of the file's
// shape; other errors are returned as they are.
func describeYAML(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		msgs = append(msgs, describeOne(e))
	}
	return errors.New(strings.Join(msgs, "; "))
}

func describeOne(e string) string {
	if m := cannotUnmarshal.FindStringSubmatch(e); m != nil {
		got, into := cmp.Or(yamlKinds[m[2]], m[2]), m[3]
		if into == "rules.File" && m[2] == "seq" {
			return m[1] + "the rules are a bare list: put them under a channels: key (channels: on its own line, the list indented below it)"
		}
		if want, ok := shapes[into]; ok {
			return fmt.Sprintf("%sfound %s where %s is expected", m[1], got, want)
		}
		return fmt.Sprintf("%sfound %s where a different shape is expected", m[1], got)
	}
	if m := unknownField.FindStringSubmatch(e); m != nil {
		keys := map[string]string{
			"rules.File":        "channels, user",
			"rules.ChannelRule": "pattern, kinds, allow, member",
			"rules.MemberRule":  "id, info",
		}[m[3]]
		if keys != "" {
			return fmt.Sprintf("%sunknown key %q (the keys here are %s)", m[1], m[2], keys)
		}
		return fmt.Sprintf("%sunknown key %q", m[1], m[2])
	}
	return e
}
