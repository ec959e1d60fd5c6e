package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the command `make dev` runs, once per test binary.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "herald-local-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "local")
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binPath, "./infra/local")
		build.Dir = testkit.RepoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./infra/local: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// running is the command started on free ports, its banner printed.
type running struct {
	cmd         *exec.Cmd
	out, stderr *testkit.SyncBuffer
	eof         chan struct{}
	waited      bool
}

// startBinary starts the command with only what a shell would have (the
// developer's PUSHER_* or ABLY_* must not leak into the test) and waits
// for its banner.
func startBinary(t *testing.T, ctx context.Context) *running {
	t.Helper()
	bin := binary(t)
	cmd := exec.CommandContext(ctx, bin, "-http", "127.0.0.1:0", "-server", "127.0.0.1:0", "-aws", "127.0.0.1:0")
	cmd.Dir = testkit.RepoRoot(t)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	r := &running{cmd: cmd, out: &testkit.SyncBuffer{}, stderr: &testkit.SyncBuffer{}, eof: make(chan struct{})}
	cmd.Stderr = r.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !r.waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// Read stdout to its end; the banner ends with "Press Ctrl-C to stop.".
	ready := make(chan struct{})
	go func() {
		defer close(r.eof)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.out.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "Press Ctrl-C to stop.") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-r.eof:
		t.Fatalf("exited without a banner; stdout:\n%s\nstderr:\n%s", r.out.String(), r.stderr.String())
	case <-ctx.Done():
		t.Fatalf("no banner; stderr:\n%s", r.stderr.String())
	}
	return r
}

// motoChild returns the pid of the moto the command started.
func motoChild(t *testing.T, parent int) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at ")".
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		if strings.Contains(string(cmdline), "moto.server") {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	t.Fatalf("no moto among the children of %d", parent)
	return 0
}

// gone waits until process group pid has no process left.
func gone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// TestBinary starts the command `make dev` runs on free ports, checks that
// it prints where it listens (moto's endpoint included), serves the page,
// pusher-js and /dev/token, and that SIGINT (Ctrl-C) stops it cleanly,
// moto's process group with it.
func TestBinary(t *testing.T) {
	testkit.NodeModules(t) // the page's pusher-js
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := startBinary(t, ctx)
	cmd, out, stderr := r.cmd, r.out, r.stderr
	motoPID := motoChild(t, cmd.Process.Pid)
	text := out.String()
	for _, want := range []string{"Demo page", "Pusher server", "AWS_ENDPOINT_URL=http://127.0.0.1:", "AWS_REGION=us-east-1",
		"Broadcast queue  http://127.0.0.1:", "Table Users", "Table Outbox", "Provider secret  arn:aws:secretsmanager:",
		"BROADCAST_SECRET_ARN=arn:aws:secretsmanager:", "PUSHER_APP_KEY=local-key", "new Pusher(", "aws dynamodb put-item --endpoint-url http://127.0.0.1:"} {
		if !strings.Contains(text, want) {
			t.Errorf("banner lacks %q:\n%s", want, text)
		}
	}
	m := regexp.MustCompile(`Demo page\s+(http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no page URL in the banner:\n%s", text)
	}
	base := m[1]

	for _, tc := range []struct {
		path, contains string
		status         int
	}{
		{"/", `<script src="/pusher.min.js">`, 200},
		{"/app.js", "channelAuthorization", 200},
		{"/pusher.min.js", "Pusher", 200},
		{"/dev/token?sub=42&name=Alice", `"token":"ey`, 200},
		{"/dev/token", "sub is required", 400},
		{"/dev/config", `"key":"local-key"`, 200},
	} {
		res, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || !bytes.Contains(body, []byte(tc.contains)) {
			t.Errorf("GET %s: %d, body %.200q; want %d containing %q", tc.path, res.StatusCode, body, tc.status, tc.contains)
		}
	}
	// The auth route is the real AuthFunction: no token, no signature.
	res, err := http.Post(base+"/broadcasting/auth", "application/x-www-form-urlencoded",
		strings.NewReader("socket_id=1.2&channel_name=private-App.Models.User.42"))
	if err != nil {
		t.Fatal(err)
	}
	var refusal struct{ Error string }
	json.NewDecoder(res.Body).Decode(&refusal)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || refusal.Error == "" {
		t.Errorf("auth without a token: %d %q, want 401 with a reason", res.StatusCode, refusal.Error)
	}

	// Ctrl-C.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.eof: // stdout closed: the process is gone
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGINT; stderr:\n%s", stderr.String())
	}
	err = cmd.Wait()
	r.waited = true
	if err != nil {
		t.Fatalf("exit after SIGINT: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.HasSuffix(out.String(), "stopped\n") {
		t.Errorf("stdout after SIGINT ends %q, want it to say it stopped", out.String()[max(0, len(out.String())-100):])
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Error("the page is still served after the process exited")
	}
	if !gone(motoPID, 10*time.Second) {
		t.Errorf("moto (pid %d) or a process of its group outlived the stack", motoPID)
	}
}

// TestNoOrphanOnKill: killed outright (SIGKILL, no shutdown), the command
// still takes moto with it.
func TestNoOrphanOnKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := startBinary(t, ctx)
	motoPID := motoChild(t, r.cmd.Process.Pid)
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.waited = true
	if !gone(motoPID, 10*time.Second) {
		syscall.Kill(-motoPID, syscall.SIGKILL)
		t.Fatalf("moto (pid %d) outlived the killed stack", motoPID)
	}
}

// TestBusyAWSPort: an -aws address in use stops the stack at once, with
// an error naming the flag.
func TestBusyAWSPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out, errOut bytes.Buffer
	err = run([]string{"-http", "127.0.0.1:0", "-server", "127.0.0.1:0", "-aws", l.Addr().String()}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()) || !strings.Contains(err.Error(), "-aws") {
		t.Fatalf("run with a busy -aws address: %v", err)
	}
}

// TestMotoMissing: where no python has moto, the command stops with one
// line naming the install command.
func TestMotoMissing(t *testing.T) {
	bin := binary(t)
	path := t.TempDir()
	if err := os.WriteFile(filepath.Join(path, "python3"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-http", "127.0.0.1:0", "-server", "127.0.0.1:0", "-aws", "127.0.0.1:0")
	cmd.Dir = t.TempDir() // no .venv above it
	cmd.Env = []string{"PATH=" + path, "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	lines := testkit.Lines(stderr.String())
	if len(lines) != 1 || !strings.Contains(lines[0], "moto is not installed") || !strings.Contains(lines[0], "pip install -r infra/local/requirements.txt") {
		t.Errorf("stderr %q, want one line naming the install command", stderr.String())
	}
}

// TestInvokeUsage checks the invoke subcommand refuses what it cannot run.
func TestInvokeUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"invoke"}, "missing LogicalId"},
		{[]string{"invoke", "QueueFunction"}, "-e <event.json> is required"},
		{[]string{"invoke", "QueueFunction", "-e", filepath.Join(t.TempDir(), "absent.json")}, "reading the event"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"invoke", "Nope", "-e", "x.json"}, `no function "Nope": want one of QueueFunction, StreamFunction, PublishFunction, AuthFunction, WebhookFunction`},
	} {
		var out, errOut bytes.Buffer
		err := run(tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestMakeMotoDeps: where no python has moto and the package index does
// not answer, `make moto-deps` does nothing and says nothing, leaving the
// one-line hint to the command (TestMotoMissing).
func TestMakeMotoDeps(t *testing.T) {
	path := t.TempDir()
	if err := os.WriteFile(filepath.Join(path, "python3"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := testkit.RepoRoot(t)
	_, venvBefore := os.Stat(filepath.Join(root, ".venv"))
	cmd := exec.Command("make", "-s", "moto-deps")
	cmd.Dir = root
	cmd.Env = []string{"PATH=" + path + ":/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("make moto-deps: %v, output %q; want silence and success", err, out)
	}
	if _, venvAfter := os.Stat(filepath.Join(root, ".venv")); (venvBefore == nil) != (venvAfter == nil) {
		t.Error("make moto-deps created or removed .venv")
	}
}
