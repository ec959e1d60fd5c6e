package testkit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dynaliteStart bounds how long dynalite may take to start listening; node
// on a loaded two-core machine can take several seconds.
const dynaliteStart = 60 * time.Second

// Dynalite starts an in-memory dynalite (a DynamoDB implementation from
// npm) on a free loopback port and returns its endpoint, such as
// "http://127.0.0.1:41234". The process and anything it started are killed,
// by process group, when t ends.
//
// Tables are created instantly (--createTableMs 0). Dynalite accepts
// conditional writes, BatchGetItem and BatchWriteItem; it rejects
// UpdateTimeToLive and ignores ReturnValuesOnConditionCheckFailure. Start one
// per package run and share it: create a table per test for isolation.
func Dynalite(t testing.TB) string {
	t.Helper()
	// The port is free a moment before dynalite binds it; another process
	// may take it in between, so a start that fails is tried on a new port.
	var lastErr error
	for range 3 {
		endpoint, err := startDynalite(t, FreePort(t))
		if err == nil {
			return endpoint
		}
		lastErr = err
	}
	t.Fatalf("testkit: dynalite: %v", lastErr)
	return ""
}

func startDynalite(t testing.TB, port int) (string, error) {
	t.Helper()
	nm := NodeModules(t)
	bin := filepath.Join(nm, ".bin", "dynalite")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := NodeCommand(ctx, t, bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0")
	// Should the test binary itself die, take dynalite with it.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return "", err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		return "", fmt.Errorf("start: %w", err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		// Dynalite prints one line once it listens; keep draining so it
		// never blocks on a full pipe.
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "listening at") {
				close(ready)
				signalled = true
			}
		}
		io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	stop := func() {
		// Kill the group dynalite leads, by its id, and reap it.
		syscall.Kill(-pid, syscall.SIGKILL)
		cancel()
		<-exited
	}

	timer := time.NewTimer(dynaliteStart)
	defer timer.Stop()
	select {
	case <-ready:
	case err := <-exited:
		cancel()
		return "", fmt.Errorf("exited before listening on port %d: %v\n%s", port, err, stderr.String())
	case <-timer.C:
		stop()
		return "", fmt.Errorf("not listening on port %d after %v\n%s", port, dynaliteStart, stderr.String())
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	WaitForTCP(t, addr, dynaliteStart)
	t.Cleanup(stop)
	return "http://" + addr, nil
}
