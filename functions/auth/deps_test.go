package auth_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestBootstrapDeps checks that the auth Lambda binary links neither
// cel-go nor what it brings (protocol buffers, the ANTLR runtime): rules
// are evaluated by rules/expr, and cel-go is only the tests' reference.
// Those packages would add megabytes and milliseconds of package
// initialisation to every cold start.
func TestBootstrapDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-deps", "./functions/auth/bootstrap")
	cmd.Dir = testkit.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := testkit.Lines(string(out))
	// Proof that the listing is the binary's: it holds the rules evaluator
	// and the Lambda runtime.
	for _, want := range []string{"github.com/heraldrt/herald/functions/auth/rules/expr", "github.com/aws/aws-lambda-go/lambda"} {
		found := false
		for _, line := range deps {
			found = found || line == want
		}
		if !found {
			t.Fatalf("go list -deps does not list %s; output:\n%s", want, out)
		}
	}
	banned := []string{"github.com/google/cel-go", "cel.dev/expr", "google.golang.org/protobuf", "github.com/antlr4-go/antlr", "github.com/google/go-cmp"}
	for _, line := range deps {
		for _, b := range banned {
			if line == b || strings.HasPrefix(line, b+"/") {
				t.Errorf("the auth Lambda binary depends on %s", line)
			}
		}
	}
}
