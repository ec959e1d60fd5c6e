package deploy

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

// cfn-lint applies the SAM transform itself and checks the result against
// CloudFormation's resource specification: types, required properties,
// valid values, including the serverless event properties that
// goformation does not model. It is a Python tool; a machine without it
// fails this test rather than leave the template unchecked.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint is not installed (pip install cfn-lint): the template cannot be checked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// -c I: informational checks too (explicit deletion policies of
	// stateful resources).
	cmd := exec.CommandContext(ctx, bin, "-c", "I", "--", "template.yaml")
	cmd.Dir = testkit.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}
