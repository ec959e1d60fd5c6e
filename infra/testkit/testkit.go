package testkit

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RepoRoot returns the repository's root directory (the one holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testkit: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var npmOnce sync.Once
var npmErr error

// NodeModules returns infra/node/node_modules, installing the locked npm
// packages first when they are missing (npm ci; make test does this before
// go test, so this only runs when a single test is run by hand). A machine
// without node fails the test: herald's tests need it.
func NodeModules(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "infra", "node")
	nm := filepath.Join(dir, "node_modules")
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(nm, ".package-lock.json")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
		}
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
	return nm
}

// NodeCommand returns a node command running script (a path, or "-e" code
// via args) with NODE_PATH set so require("pusher-js") resolves to
// infra/node's locked packages. The process is killed when ctx ends.
func NodeCommand(ctx context.Context, t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	nm := NodeModules(t)
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nm)
	cmd.Dir = filepath.Dir(nm)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Kill the whole group the script started, and nothing else.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// RunNode runs a Node.js script to completion within timeout, with extra
// environment variables, and returns its standard output. A non-zero exit
// fails the test with the script's output.
func RunNode(t testing.TB, timeout time.Duration, env []string, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := NodeCommand(ctx, t, append([]string{script}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v (ctx: %v)\nstdout:\n%s\nstderr:\n%s", script, err, ctx.Err(), stdout.String(), stderr.String())
	}
	return stdout.String()
}

// Listen opens a TCP listener on a free loopback port, closed when the test
// ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// FreePort returns a loopback port that was free a moment ago, for processes
// that must be told their port rather than handed a listener.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitForTCP waits until addr accepts connections, or fails the test.
func WaitForTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not accept connections within %v: %v", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Chromium returns the path of a Chromium binary (HERALD_CHROMIUM, or
// Debian's). Without one the test fails, naming the install command: a
// browser test never skips. CI's .ci/run installs it.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HERALD_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("CHROMIUM NOT FOUND: install Debian's chromium (apt-get install -y chromium) or set HERALD_CHROMIUM to a Chromium binary.")
	return ""
}

// Lines splits output into trimmed non-empty lines.
func Lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
