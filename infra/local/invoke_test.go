package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestMakeInvokeTakesDevFlags runs `make invoke` against a stack on other
// addresses than the defaults, with the DEV_FLAGS that started it.
func TestMakeInvokeTakesDevFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := startBinary(t, ctx)
	text := r.out.String()
	addr := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no %s in the banner:\n%s", re, text)
		}
		return m[1]
	}
	flags := strings.Join([]string{
		"-http", addr(`Demo page\s+http://(127\.0\.0\.1:\d+)/`),
		"-server", addr(`ws://(127\.0\.0\.1:\d+)/app/`),
		"-aws", addr(`AWS_ENDPOINT_URL=http://(127\.0\.0\.1:\d+)`),
		"-visibility", "10s",
	}, " ")
	cmd := exec.CommandContext(ctx, "make", "-s", "invoke", "FN=QueueFunction", "EVENT=events/samples/sqs-email-sent.json", "DEV_FLAGS="+flags)
	cmd.Dir = testkit.RepoRoot(t)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"batchItemFailures":[]`) {
		t.Fatalf("make invoke DEV_FLAGS=%q: %v\n%s", flags, err, out)
	}
}
