package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// rieVersion is the AWS Lambda Runtime Interface Emulator the benchmark
// runs functions under: the Makefile's RIE_VERSION and testkit.RIEVersion
// name the same one.
const rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// installRIE returns the path of an aws-lambda-rie binary: $HERALD_RIE, the
// one on PATH, else one go-installed into the directory the test kit uses
// (herald/bin/<version> under the user cache directory), once per machine.
func installRIE(ctx context.Context) (string, error) {
	if p := os.Getenv("HERALD_RIE"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "herald", "bin", rieVersion)
	bin := filepath.Join(dir, "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install",
		"github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+rieVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("installing aws-lambda-rie %s: %v\n%s", rieVersion, err, out)
	}
	return bin, nil
}

// coldRun is one measured cold start.
type coldRun struct {
	// First is from sending the first invocation to its answer. The emulator
	// starts the bootstrap only when that invocation arrives, so this is
	// process start, runtime and function init, and one invocation.
	First time.Duration
	// Answer is the invocation's response body.
	Answer []byte
}

// coldStart starts bootstrap under the emulator with env, sends payload as
// its first invocation and measures the answer. The emulator and the
// function are killed (as a process group) before it returns.
func coldStart(ctx context.Context, rie, bootstrap string, env []string, payload []byte) (coldRun, error) {
	apiPort, err := freePort()
	if err != nil {
		return coldRun{}, err
	}
	emuPort, err := freePort()
	if err != nil {
		return coldRun{}, err
	}
	emuAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(emuPort))
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", emuAddr,
		"--runtime-api-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort)),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return coldRun{}, fmt.Errorf("starting aws-lambda-rie: %w", err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	fail := func(format string, args ...any) (coldRun, error) {
		return coldRun{}, fmt.Errorf("%s: %s\nemulator output:\n%s", filepath.Base(bootstrap), fmt.Sprintf(format, args...), out.tail(2000))
	}
	if err := waitTCP(ctx, emuAddr, 15*time.Second); err != nil {
		return fail("%v", err)
	}

	url := "http://" + emuAddr + "/2015-03-31/functions/function/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return coldRun{}, err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 60 * time.Second}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fail("invoking: %v", err)
	}
	answer, err := io.ReadAll(resp.Body)
	first := time.Since(t0)
	resp.Body.Close()
	if err != nil {
		return fail("reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail("invocation answered HTTP %d: %s", resp.StatusCode, answer)
	}
	if bytes.Contains(answer, []byte(`"errorMessage"`)) {
		return fail("invocation failed: %s", answer)
	}

	return coldRun{First: first, Answer: answer}, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s did not accept connections within %v: %v", addr, timeout, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// lockedBuffer collects the end of a child's output while it runs: a
// server logging every request must not grow it without bound.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const maxKeptOutput = 64 << 10

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) > 2*maxKeptOutput {
		keep := b.buf.Bytes()[max(0, b.buf.Len()-maxKeptOutput):]
		b.buf = *bytes.NewBuffer(append([]byte(nil), keep...))
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the last n bytes of the output, for error messages.
func (b *lockedBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}
