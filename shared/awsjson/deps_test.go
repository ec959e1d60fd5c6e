package awsjson_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestLambdaBinariesLinkNoServiceClients checks that no Lambda binary links
// an aws-sdk-go-v2 service client: their package init (operation schemas,
// endpoint tables) is what this package exists to keep out of cold starts.
func TestLambdaBinariesLinkNoServiceClients(t *testing.T) {
	for _, fn := range []string{"queue", "stream", "publish", "auth"} {
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "list", "-e", "-deps", "./functions/"+fn+"/bootstrap")
			cmd.Dir = testkit.RepoRoot(t)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps: %v", err)
			}
			deps := testkit.Lines(string(out))
			// Proof that the listing is the binary's: the Lambda runtime
			// and the AWS configuration every function reads.
			for _, want := range []string{"github.com/aws/aws-lambda-go/lambda", "github.com/heraldrt/herald/shared/config"} {
				if !contains(deps, want) {
					t.Fatalf("go list -deps does not list %s; output:\n%s", want, out)
				}
			}
			for _, line := range deps {
				if strings.HasPrefix(line, "github.com/aws/aws-sdk-go-v2/service/") {
					t.Errorf("the %s Lambda binary depends on %s", fn, line)
				}
			}
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}
