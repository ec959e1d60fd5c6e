package moto

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakePython writes a python3 into a new directory that cannot import
// anything, and returns the directory.
func fakePython(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "python3"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFindPythonNotInstalled: with no python that has moto (none on PATH,
// no .venv), FindPython and Start say so with the install command.
func TestFindPythonNotInstalled(t *testing.T) {
	t.Setenv("PATH", fakePython(t))
	dir := t.TempDir()
	if _, err := FindPython(dir); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("FindPython = %v, want ErrNotInstalled", err)
	}
	_, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", Dir: dir})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "pip install -r infra/local/requirements.txt") {
		t.Fatalf("Start = %v, want ErrNotInstalled naming the install command", err)
	}
}

// TestFindPythonVenv: the project virtualenv of a parent directory wins
// over python3 on PATH.
func TestFindPythonVenv(t *testing.T) {
	py, err := FindPython("")
	if err != nil {
		t.Fatal(err)
	}
	// The interpreter itself, not a launcher that needs PATH (pyenv's).
	out, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	real := strings.TrimSpace(string(out))
	root := t.TempDir()
	venv := filepath.Join(root, ".venv", "bin")
	if err := os.MkdirAll(venv, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(venv, "python")); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "infra", "local")
	os.MkdirAll(sub, 0o755)
	t.Setenv("PATH", fakePython(t))
	got, err := FindPython(sub)
	if err != nil || got != filepath.Join(venv, "python") {
		t.Fatalf("FindPython = %q, %v; want the .venv's python", got, err)
	}
}

// TestRequirementsPin: infra/local/requirements.txt pins the release this
// package names.
func TestRequirementsPin(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "local", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var pins []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			pins = append(pins, l)
		}
	}
	if len(pins) != 1 || pins[0] != "moto[server]=="+Version {
		t.Fatalf("requirements.txt pins %q, want moto[server]==%s", pins, Version)
	}
}

// TestBusyAddress: an address in use is refused at once, naming it.
func TestBusyAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(context.Background(), Config{Addr: l.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()+" is busy") {
		t.Fatalf("Start on a busy address: %v", err)
	}
}

// TestStartStop: moto answers, and Stop ends its whole process group.
func TestStartStop(t *testing.T) {
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	pid := s.cmd.Process.Pid
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		t.Fatalf("moto does not answer on %s: %v", s.Addr, err)
	}
	c.Close()
	s.Stop()
	s.Stop() // twice is fine
	select {
	case <-s.Done():
	default:
		t.Fatal("Done is open after Stop")
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("moto's process group %d still exists after Stop: %v", pid, err)
	}
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still answers after Stop", s.Addr)
	}
}
