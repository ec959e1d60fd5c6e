package testkit

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestTemplate(t *testing.T) {
	root := Template(t)
	if root.Kind != yaml.MappingNode || YAMLPath(root, "Resources") == nil {
		t.Fatalf("template.yaml's top level is not a mapping with Resources")
	}
}

func TestYAMLPath(t *testing.T) {
	var doc yaml.Node
	src := "A:\n  B:\n    C: !Ref Param\n  L: [x, y]\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	if n := YAMLPath(root, "A", "B", "C"); n == nil || n.Value != "Param" || n.Tag != "!Ref" {
		t.Fatalf("A.B.C = %+v, want !Ref Param", n)
	}
	if YAMLPath(root) != root {
		t.Fatal("an empty path is not the node itself")
	}
	for _, path := range [][]string{{"Z"}, {"A", "Z"}, {"A", "L", "x"}, {"A", "B", "C", "D"}} {
		if n := YAMLPath(root, path...); n != nil {
			t.Errorf("%v = %+v, want nil", path, n)
		}
	}
	if YAMLPath(nil, "A") != nil {
		t.Error("a nil node walked somewhere")
	}
}
