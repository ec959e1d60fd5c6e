package testkit

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// Template parses the repository's template.yaml as YAML nodes and returns
// its top-level mapping. Intrinsic tags (!Ref, !GetAtt, !Sub) stay on the
// nodes, which a CloudFormation parser would resolve away.
func Template(t testing.TB) *yaml.Node {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	if len(doc.Content) == 0 {
		t.Fatal("template.yaml is empty")
	}
	return doc.Content[0]
}

// YAMLPath walks mapping keys from n; nil when a key is missing or a node
// on the way is not a mapping.
func YAMLPath(n *yaml.Node, path ...string) *yaml.Node {
	for _, k := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}
