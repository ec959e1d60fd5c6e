package moto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Version is the moto release herald is tested with; infra/local/requirements.txt
// pins the same.
const Version = "5.2.1"

// InstallHint is the one line that tells a user how to get moto.
const InstallHint = "pip install 'moto[server]==" + Version + "' (or: python3 -m venv .venv && .venv/bin/pip install -r infra/local/requirements.txt)"

// ErrNotInstalled is returned when no Python on this machine can import
// moto's server.
var ErrNotInstalled = errors.New("moto is not installed: " + InstallHint)

// StartTimeout bounds how long Start waits for moto to answer. It starts in
// about 2 s; a loaded two-core machine can take several times that.
const StartTimeout = 60 * time.Second

// Credentials and region that moto accepts (it accepts any) and that
// herald's local stack and tests use. They are not secrets.
const (
	AccessKeyID     = "local"
	SecretAccessKey = "local"
	Region          = "us-east-1"
	// AccountID is the account moto puts in every ARN and queue URL.
	AccountID = "123456789012"
)

// Config says where moto listens and with which Python.
type Config struct {
	// Addr is host:port to listen on; "127.0.0.1:0" picks a free port.
	// Default 127.0.0.1:4566, the port LocalStack users know.
	Addr string
	// Python runs moto; default: found by FindPython.
	Python string
	// Dir is searched for the project virtualenv (.venv); default the
	// working directory and its parents.
	Dir string
	// Log receives moto's own output (request lines); nil discards it.
	Log io.Writer
}

// Server is a running moto.
type Server struct {
	// Endpoint is http://host:port, for AWS_ENDPOINT_URL.
	Endpoint string
	// Addr is host:port.
	Addr string

	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stderr   *tailBuffer
}

// DefaultAddr is where `make dev` starts moto.
const DefaultAddr = "127.0.0.1:4566"

// FindPython returns a Python that can import moto's server: the project
// virtualenv's (.venv/bin/python in dir or a parent), then python3 on PATH.
func FindPython(dir string) (string, error) {
	var candidates []string
	if dir == "" {
		dir, _ = os.Getwd()
	}
	for d := dir; d != ""; {
		candidates = append(candidates, filepath.Join(d, ".venv", "bin", "python"))
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, py := range candidates {
		if _, err := os.Stat(py); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := exec.CommandContext(ctx, py, "-c", "import moto.server").Run()
		cancel()
		if err == nil {
			return py, nil
		}
	}
	return "", ErrNotInstalled
}

// Start runs moto on cfg.Addr and returns once it answers HTTP. A busy
// address is an error that says so. ctx bounds the start only; Stop ends
// the process.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("moto: address %q: %w", cfg.Addr, err)
	}
	if port == "0" {
		// moto takes a port number, not a listener: pick one that was free
		// a moment ago (Start is retried by callers that race for ports).
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("moto: finding a free port on %s: %w", host, err)
		}
		port = fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
		l.Close()
	} else if l, err := net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("moto: %s is busy: %w", cfg.Addr, err)
	} else {
		l.Close()
	}
	if cfg.Python == "" {
		if cfg.Python, err = FindPython(cfg.Dir); err != nil {
			return nil, err
		}
	}
	addr := net.JoinHostPort(host, port)
	cmd := exec.Command(cfg.Python, "-m", "moto.server", "-H", host, "-p", port)
	// Its own process group, so Stop ends moto and whatever it started;
	// and should the parent die, moto dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	tail := &tailBuffer{max: 8 << 10}
	cmd.Stderr = tail
	if cfg.Log != nil {
		cmd.Stdout = cfg.Log
		cmd.Stderr = multiWriter{tail, cfg.Log}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("moto: starting %s -m moto.server: %w", cfg.Python, err)
	}
	s := &Server{Endpoint: "http://" + addr, Addr: addr, cmd: cmd, exited: make(chan struct{}), stderr: tail}
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()

	wctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if err := s.waitReady(wctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls moto's own API until it answers.
func (s *Server) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("moto exited before answering on %s: %v\n%s", s.Addr, s.waitErr, s.stderr.String())
		case <-ctx.Done():
			return fmt.Errorf("moto did not answer on %s: %w\n%s", s.Addr, ctx.Err(), s.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Reset clears every resource moto holds (POST /moto-api/reset).
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("moto: reset: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto: reset: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.exited }

// Stop ends moto's process group (SIGTERM, then SIGKILL after 5 s) and
// waits for it. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		pid := s.cmd.Process.Pid
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-s.exited
		}
	})
}

// Env returns the variables that point an SDK at this moto: endpoint,
// region and its fixed credentials.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
	}
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}

// multiWriter writes to every writer and never fails: unlike io.MultiWriter
// it does not stop at a log that errors, which would leave moto's output
// pipe undrained and moto blocked on it.
type multiWriter []io.Writer

func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		w.Write(p)
	}
	return len(p), nil
}
