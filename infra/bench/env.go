package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// standin is a provider stand-in serving on a loopback port.
type standin struct {
	addr string
	srv  *http.Server
	c    *counter
}

func (s *standin) counter() *counter { return s.c }

// serve starts h on a free loopback port.
func serve(h http.Handler, c *counter) (*standin, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return &standin{addr: l.Addr().String(), srv: srv, c: c}, nil
}

func (s *standin) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

// benchEnv is what every part of the benchmark shares: the repository, a
// scratch directory, this program's path (to start fan-out workers), the
// Node.js packages and the provider stand-ins.
type benchEnv struct {
	root        string
	dir         string
	self        string
	nodeModules string
	rtt         time.Duration
	pusher      *standin
	ably        *standin
	progress    func(format string, args ...any)

	mu      sync.Mutex
	batches map[int]string
}

// newBenchEnv starts the stand-ins, answering after rtt. self is the
// executable that runs a fan-out worker when started with envWorker set.
func newBenchEnv(root, dir, self string, rtt time.Duration, progress func(string, ...any)) (*benchEnv, error) {
	nm := filepath.Join(root, "infra", "node", "node_modules")
	if _, err := os.Stat(filepath.Join(nm, "pusher")); err != nil {
		return nil, fmt.Errorf("the npm pusher package is not installed in %s (run make node-deps): %w", nm, err)
	}
	papi := newPusherAPI(benchAppID, benchKey, benchSecret, rtt)
	p, err := serve(papi, &papi.counter)
	if err != nil {
		return nil, err
	}
	aapi := newAblyAPI(benchAblyKey, benchAblyToken, rtt)
	a, err := serve(aapi, &aapi.counter)
	if err != nil {
		p.close()
		return nil, err
	}
	if progress == nil {
		progress = func(string, ...any) {}
	}
	return &benchEnv{root: root, dir: dir, self: self, nodeModules: nm, rtt: rtt,
		pusher: p, ably: a, progress: progress, batches: map[int]string{}}, nil
}

func (e *benchEnv) close() {
	e.pusher.close()
	e.ably.close()
}

// every calls f each period until the returned func is called: progress
// lines during long runs.
func (e *benchEnv) every(period time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	t := time.NewTicker(period)
	go func() {
		for {
			select {
			case <-t.C:
				f()
			case <-done:
				return
			}
		}
	}()
	return func() {
		t.Stop()
		close(done)
	}
}

// batchFile returns the path of an SQS batch of n messages, writing it once.
func (e *benchEnv) batchFile(n int) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.batches[n]; ok {
		return p, nil
	}
	p, err := writeBatch(e.dir, n)
	if err != nil {
		return "", err
	}
	e.batches[n] = p
	return p, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, errors.New("bad port in " + addr)
	}
	return host, port, nil
}
