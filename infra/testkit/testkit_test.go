package testkit

import (
	"strings"
	"testing"
	"time"
)

func TestRunNodeResolvesLockedPackages(t *testing.T) {
	out := RunNode(t, 30*time.Second, []string{"HERALD_PROBE=1"}, "-e",
		`const P = require("pusher-js"); const S = require("pusher"); console.log(typeof P, typeof S, process.env.HERALD_PROBE)`)
	if got := strings.TrimSpace(out); got != "function function 1" {
		t.Fatalf("node printed %q", got)
	}
}
