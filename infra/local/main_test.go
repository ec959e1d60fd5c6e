package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestBinary builds the command `make dev` runs, starts it on free ports,
// checks that it prints where it listens, serves the page, pusher-js and
// /dev/token, and that SIGINT (Ctrl-C) stops it cleanly.
func TestBinary(t *testing.T) {
	root := testkit.RepoRoot(t)
	testkit.NodeModules(t) // the page's pusher-js
	bin := filepath.Join(t.TempDir(), "local")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./infra/local")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./infra/local: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-http", "127.0.0.1:0", "-server", "127.0.0.1:0", "-sqs", "127.0.0.1:0")
	cmd.Dir = root
	// Only what a shell would have: the developer's PUSHER_* or ABLY_*
	// must not leak into the test.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	// Read stdout to its end; the banner ends with "Press Ctrl-C to stop.".
	var out syncBuffer
	ready, eof := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "Press Ctrl-C to stop.") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-eof:
		t.Fatalf("exited without a banner; stdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
	case <-ctx.Done():
		t.Fatalf("no banner; stderr:\n%s", stderr.String())
	}
	text := out.String()
	for _, want := range []string{"Demo page", "Pusher server", "Local SQS", "Broadcast queue", "PUSHER_APP_KEY=local-key", "new Pusher("} {
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
	case <-eof: // stdout closed: the process is gone
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGINT; stderr:\n%s", stderr.String())
	}
	err = cmd.Wait()
	waited = true
	if err != nil {
		t.Fatalf("exit after SIGINT: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.HasSuffix(out.String(), "stopped\n") {
		t.Errorf("stdout after SIGINT ends %q, want it to say it stopped", out.String()[max(0, len(out.String())-100):])
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Error("the page is still served after the process exited")
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
		{[]string{"invoke", "Nope", "-e", "x.json"}, `no function "Nope": want one of QueueFunction, StreamFunction, PublishFunction, AuthFunction`},
	} {
		var out, errOut bytes.Buffer
		err := run(tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine exec starts.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
