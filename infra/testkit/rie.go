package testkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RIEVersion is the AWS Lambda Runtime Interface Emulator the tests run.
const RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"

var (
	rieOnce sync.Once
	riePath string
	rieErr  error
)

// RIE returns the path of aws-lambda-rie: the one on PATH, else one
// installed with go install into herald's cache directory (once per
// machine).
func RIE(t testing.TB) string {
	t.Helper()
	rieOnce.Do(func() {
		if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
			riePath = p
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		bin := filepath.Join(cache, "herald", "bin", RIEVersion)
		riePath = filepath.Join(bin, "aws-lambda-rie")
		if _, err := os.Stat(riePath); err == nil {
			return
		}
		cmd := exec.Command("go", "install", "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+RIEVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			rieErr = fmt.Errorf("installing aws-lambda-rie %s: %v\n%s", RIEVersion, err, out)
		}
	})
	if rieErr != nil {
		t.Fatal(rieErr)
	}
	return riePath
}

// Lambda is a function binary running under the Runtime Interface
// Emulator, reached through the real Lambda Runtime API.
type Lambda struct {
	// URL is the emulator's invoke endpoint.
	URL string
	// Started is when the emulator process was started.
	Started time.Time

	cmd *exec.Cmd
	out *SyncBuffer
	mu  sync.Mutex // the emulator serves one invocation at a time
}

// StartLambda runs bootstrap (an executable for this machine's
// architecture) under the emulator with env added to a minimal
// environment, and stops it when the test ends.
func StartLambda(t testing.TB, bootstrap string, env []string) *Lambda {
	t.Helper()
	rie := RIE(t)
	apiPort, runtimePort := FreePort(t), FreePort(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(runtimePort),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY=local-secret",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
	}, env...)
	out := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	l := &Lambda{URL: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", apiPort), cmd: cmd, out: out}
	l.Started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", rie, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// The emulator and the function it started, and nothing else.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	})
	WaitForTCP(t, fmt.Sprintf("127.0.0.1:%d", apiPort), 30*time.Second)
	return l
}

// Invoke sends one invocation and returns the function's answer: its
// result, or the runtime's error document ({"errorMessage": ...}) — the
// emulator answers 200 for both.
func (l *Lambda) Invoke(t testing.TB, payload []byte) []byte {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoking under the emulator: %v\nemulator output:\n%s", err, l.Output())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("emulator answered %d: %s\noutput:\n%s", resp.StatusCode, body, l.Output())
	}
	return body
}

// Output returns what the emulator and the function wrote so far.
func (l *Lambda) Output() string { return l.out.String() }

// SyncBuffer is a bytes.Buffer safe for concurrent writers (a server's
// goroutines, the copy exec starts) and a reading test.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
