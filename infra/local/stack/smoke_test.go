package stack

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

// smoke runs `make smoke` against the stack with the given variables
// over the stack's own, and returns its output and whether it passed.
func smoke(t *testing.T, st *Stack, vars ...string) (string, bool) {
	t.Helper()
	testkit.NodeModules(t)
	args := []string{"-s", "smoke",
		"API=" + st.URLs().HTTP + "/",
		"PUBLISH_APP_ID=" + st.Env("PUBLISH_APP_ID"),
		"PUBLISH_APP_KEY=" + st.Env("PUBLISH_APP_KEY"),
		"PUBLISH_APP_SECRET=" + st.Env("PUBLISH_APP_SECRET"),
		"AUTH_JWT_SECRET=" + st.Env("AUTH_JWT_SECRET"),
		"PUSHER_KEY=" + st.pageConfig().Key,
		"WS_HOST=" + strings.TrimPrefix(st.URLs().Server, "http://"),
		"SMOKE_USER=42",
		"TIMEOUT_MS=20000",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", append(args, vars...)...)
	cmd.Dir = testkit.RepoRoot(t)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("make smoke did not finish: %s", out)
	}
	return string(out), err == nil
}

// TestSmoke runs `make smoke` against the local stack: it passes with the
// stack's credentials, and a wrong JWT or publish secret fails at its
// step, naming the setting to check.
func TestSmoke(t *testing.T) {
	st := start(t, nil)
	out, ok := smoke(t, st)
	if !ok || !strings.Contains(out, "5/5 receive: SmokeTest arrived on private-App.Models.User.42") || !strings.Contains(out, "smoke: OK") {
		t.Fatalf("make smoke failed:\n%s", out)
	}
	if testing.Verbose() {
		t.Log(out)
	}
	for _, tc := range []struct{ name, variable, step, check string }{
		{"wrong JWT secret", "AUTH_JWT_SECRET=not-the-secret-the-auth-function-verifies-with", "FAILED at 3/5 subscribe", "check: AUTH_JWT_SECRET"},
		{"wrong publish secret", "PUBLISH_APP_SECRET=not-the-publish-secret", "FAILED at 4/5 publish", "PUBLISH_APP_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ok := smoke(t, st, tc.variable)
			if ok || !strings.Contains(out, tc.step) || !strings.Contains(out, tc.check) {
				t.Errorf("make smoke with a %s (passed %v):\n%s\nwant %q and %q", tc.name, ok, out, tc.step, tc.check)
			}
		})
	}
}
