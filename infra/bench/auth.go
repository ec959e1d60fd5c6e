package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/signature"
)

// benchJWTSecret signs the load generator's HS256 tokens; both auth servers
// verify with it. It is a benchmark-only value.
const benchJWTSecret = "bench-only-hs256-secret-of-32-bytes-or-more"

// authUsers is how many distinct users the load rotates through, so no
// server can answer from a one-entry cache.
const authUsers = 100

// authKinds are the measured subscriptions: a private channel allowed by
// "App.Models.User.{id}" and the presence channel "presence-online", as the
// auth function's default rules (and the Node peer) define them.
var authKinds = []string{"private", "presence"}

// authResult is one server under load for one channel kind.
type authResult struct {
	Server      string // "herald", "node"
	Kind        string
	Requests    int
	Concurrency int
	Wall        time.Duration
	P50, P99    time.Duration
	// ServerCPU is the server process's user+sys time over the measured
	// requests (from /proc, in 10 ms ticks); 0 when unknown.
	ServerCPU time.Duration
	// Runs is how many runs this one is the median of.
	Runs int
	// ClientCPU is the load generator's (this process's) user+sys time
	// over the same requests; 0 when unknown.
	ClientCPU time.Duration
}

// cpuPerRequest is the server's CPU time per measured request.
func (r authResult) cpuPerRequest() time.Duration {
	return r.ServerCPU / time.Duration(r.Requests)
}

// procCPU is a process's user+sys time so far, read from /proc/<pid>/stat.
// Linux counts it in clock ticks, 100 per second on every common build.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func (r authResult) rps() float64 { return float64(r.Requests) / r.Wall.Seconds() }

// runAuthServer is the child side of the herald auth server: the auth
// handler, configured as its bootstrap configures it from the environment,
// served over HTTP on a free loopback port whose address is printed on
// stdout. It serves until killed.
func runAuthServer() int {
	h, err := auth.FromEnv(context.Background(), config.Env(), auth.Deps{Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "auth server:", err)
		return 1
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "auth server:", err)
		return 1
	}
	fmt.Println(l.Addr().String())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	srv.Serve(l)
	return 0
}

// authEnv is the environment both auth servers read their key, secret and
// token secret from.
func authEnv() []string {
	return []string{
		"BROADCAST_CONNECTION=pusher",
		"PUSHER_APP_KEY=" + benchKey, "PUSHER_APP_SECRET=" + benchSecret,
		"AUTH_JWT_SECRET=" + benchJWTSecret,
	}
}

// server is a started auth server.
type server struct {
	addr string
	pid  int
	stop func()
}

// startServer starts cmd, which prints its listening address as its first
// line, and returns it running. The server's stderr (herald's decision log)
// goes to a file rather than a pipe, so that no process of the benchmark
// spends CPU draining it while the server is measured.
func startServer(ctx context.Context, cmd *exec.Cmd) (server, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logFile, err := os.CreateTemp("", "herald-bench-auth-*.log")
	if err != nil {
		return server{}, err
	}
	closeLog := func() {
		logFile.Close()
		os.Remove(logFile.Name())
	}
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		closeLog()
		return server{}, err
	}
	if err := cmd.Start(); err != nil {
		closeLog()
		return server{}, err
	}
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		closeLog()
	}
	stderrTail := func() string {
		b, _ := os.ReadFile(logFile.Name())
		if len(b) > 2000 {
			return "..." + string(b[len(b)-2000:])
		}
		return string(b)
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-line:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			tail := stderrTail()
			stop()
			return server{}, fmt.Errorf("%s did not print its address (%q); stderr:\n%s", filepath.Base(cmd.Path), addr, tail)
		}
		return server{addr: addr, pid: cmd.Process.Pid, stop: stop}, nil
	case <-time.After(30 * time.Second):
		tail := stderrTail()
		stop()
		return server{}, fmt.Errorf("%s did not start within 30 s; stderr:\n%s", filepath.Base(cmd.Path), tail)
	case <-ctx.Done():
		stop()
		return server{}, ctx.Err()
	}
}

// authTokens are HS256 tokens for users 1..authUsers, valid for an hour.
func authTokens() ([]string, error) {
	out := make([]string, authUsers)
	exp := time.Now().Add(time.Hour)
	for i := range out {
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": strconv.Itoa(i + 1), "name": fmt.Sprintf("User %d", i+1),
			"iat": time.Now().Unix(), "exp": exp.Unix(),
		})
		s, err := t.SignedString([]byte(benchJWTSecret))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// authLoad sends n auth requests of one kind to s with conc in flight,
// checks every answer's signature and returns the latencies and the
// server's CPU time. Each request in flight has its own keep-alive
// connection, as with wrk; see loadgen.go.
func authLoad(ctx context.Context, s server, kind string, n, conc int, tokens []string) (authResult, error) {
	g, err := newLoadGen(ctx, s.addr, conc, authTemplates(s.addr, kind, tokens))
	if err != nil {
		return authResult{}, err
	}
	defer g.close()

	// Warm up outside the measurement: let Node's JIT and Go's allocator
	// settle. Requests are numbered on from the warm-up's, so every
	// request has its own socket id.
	warm := max(conc, min(n/10, 500))
	answers, err := g.phase(ctx, 0, warm)
	if err == nil {
		err = g.check(0, answers)
	}
	if err != nil {
		return authResult{}, err
	}
	cpu0, cpuErr := procCPU(s.pid)
	own0, ownErr := procCPU(os.Getpid())
	start := time.Now()
	answers, err = g.phase(ctx, warm, n)
	wall := time.Since(start)
	cpu1, cpuErr1 := procCPU(s.pid)
	own1, ownErr1 := procCPU(os.Getpid())
	if err != nil {
		return authResult{}, err
	}
	if err := g.check(warm, answers); err != nil {
		return authResult{}, err
	}
	lat := make([]time.Duration, len(answers))
	for i, a := range answers {
		lat[i] = a.latency
	}
	slices.Sort(lat)
	r := authResult{Kind: kind, Requests: n, Concurrency: conc, Wall: wall,
		P50: percentile(lat, 0.50), P99: percentile(lat, 0.99)}
	if cpuErr == nil && cpuErr1 == nil {
		r.ServerCPU = cpu1 - cpu0
	}
	if ownErr == nil && ownErr1 == nil {
		r.ClientCPU = own1 - own0
	}
	return r, nil
}

// checkAuthAnswer verifies a subscription answer: the signature must be
// the app key's over socket_id:channel (and channel_data for presence),
// and a presence member must be the token's user.
func checkAuthAnswer(body []byte, socketID, ch, user string) error {
	var a struct {
		Auth        string `json:"auth"`
		ChannelData string `json:"channel_data"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("auth answer %q: %v", body, err)
	}
	if !signature.VerifyAuth(a.Auth, benchKey, benchSecret, signature.ChannelString(socketID, ch, a.ChannelData)) {
		return fmt.Errorf("auth answer for %s does not verify: %s", ch, body)
	}
	if strings.HasPrefix(ch, "presence-") {
		var m struct {
			UserID any `json:"user_id"`
		}
		if err := json.Unmarshal([]byte(a.ChannelData), &m); err != nil || fmt.Sprint(m.UserID) != user {
			return fmt.Errorf("presence channel_data %q is not user %s", a.ChannelData, user)
		}
	} else if a.ChannelData != "" {
		return fmt.Errorf("private auth answer carries channel_data: %s", body)
	}
	return nil
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// authServer starts one of the measured auth servers.
type authServer struct {
	name string
	cmd  func() *exec.Cmd
}

// authServers are herald's auth handler (this program as a worker) and the
// Node peer in its two forms, all configured by authEnv.
func authServers(ctx context.Context, env *benchEnv) []authServer {
	return []authServer{
		{"herald", func() *exec.Cmd {
			cmd := exec.CommandContext(ctx, env.self)
			cmd.Env = append(append(os.Environ(), envWorker+"=auth"), authEnv()...)
			return cmd
		}},
		{"node", nodeAuth(ctx, env, "string")},
		{"node keyobject", nodeAuth(ctx, env, "keyobject")},
	}
}

// nodeAuth starts node/auth.js verifying tokens with the secret as a string
// (jsonwebtoken's documented use) or as a KeyObject made once.
func nodeAuth(ctx context.Context, env *benchEnv, key string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, "node", filepath.Join(env.root, "infra", "bench", "node", "auth.js"))
		cmd.Env = append(append(os.Environ(), "NODE_PATH="+env.nodeModules, "AUTH_NODE_KEY="+key), authEnv()...)
		return cmd
	}
}

// runAuth measures herald's auth handler and the Node peers, each in its
// own process, under the same load. Each row is run o.repeat times (at
// least once), the servers in turns so that a change in the machine's load
// falls on all of them, and the run with the median requests per second is
// kept whole.
func runAuth(ctx context.Context, env *benchEnv, o options) ([]authResult, error) {
	tokens, err := authTokens()
	if err != nil {
		return nil, err
	}
	servers := authServers(ctx, env)
	runs := max(1, o.repeat)
	var out []authResult
	for _, conc := range o.authConcurrency {
		for _, kind := range authKinds {
			results := make([][]authResult, len(servers))
			for range runs {
				for i, s := range servers {
					r, err := authRun(ctx, s, kind, o.authRequests, conc, tokens)
					if err != nil {
						return nil, fmt.Errorf("%s auth server: %w", s.name, err)
					}
					env.progress("auth %-14s %-8s %6d requests, %2d in flight: %7.0f req/s, p50 %.2f ms, p99 %.2f ms, server CPU %.0f µs per request (load generator %.0f µs)",
						s.name, kind, r.Requests, r.Concurrency, r.rps(), ms(r.P50), ms(r.P99), float64(r.cpuPerRequest())/1e3, float64(r.ClientCPU/time.Duration(r.Requests))/1e3)
					results[i] = append(results[i], r)
				}
			}
			for _, rs := range results {
				out = append(out, medianAuthRun(rs))
			}
		}
	}
	return out, nil
}

// authRun starts a fresh server and measures it.
func authRun(ctx context.Context, s authServer, kind string, n, conc int, tokens []string) (authResult, error) {
	srv, err := startServer(ctx, s.cmd())
	if err != nil {
		return authResult{}, err
	}
	defer srv.stop()
	r, err := authLoad(ctx, srv, kind, n, conc, tokens)
	r.Server = s.name
	return r, err
}

// medianAuthRun is the run with the median requests per second.
func medianAuthRun(rs []authResult) authResult {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b authResult) int { return cmp.Compare(a.rps(), b.rps()) })
	m := sorted[(len(sorted)-1)/2]
	m.Runs = len(rs)
	return m
}

// authRuns is how many runs each row is the median of.
func authRuns(rs []authResult) int {
	if len(rs) == 0 {
		return 0
	}
	return rs[0].Runs
}

func (r *report) authTable(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Auth: POST /broadcasting/auth with a bearer HS256 JWT, on loopback\n\n")
	fmt.Fprintf(b, "Each server in its own process, started afresh for each run; each row is the run with the median req/s of %d, the servers taking turns. The same load generator (loadgen.go: prepared HTTP/1.1 requests written to "+
		"one keep-alive TCP connection per request in flight, answers read by status line and Content-Length or chunks, as wrk does) sends %d requests "+
		"after an unmeasured warm-up of a tenth as many (at most 500), each with its own socket id, users in turn; every answer's signature is verified after the timed phase. "+
		"One in flight is how a Lambda instance is used; more shows throughput. "+
		"herald is the auth function's handler with its default rules, served by net/http as the Lambda adapter hands it requests, logging each decision as deployed (to a file, so no other process spends CPU reading it); "+
		"the Node peer is node:http + jsonwebtoken + the pusher package's authorizeChannel with the same rules written in JavaScript, "+
		"once with the secret passed to jwt.verify as a string (as jsonwebtoken's README shows; the library then builds a key on every call) "+
		"and once as a KeyObject made at start (node keyobject), the faster of the two, which the target is judged against. "+
		"Server CPU is the server process's user+sys time over the measured requests, divided by their number: the handler's cost without the load generator's.\n\n", authRuns(r.auth), r.opts.authRequests)
	b.WriteString("| server | channel | in flight | req/s | p50 ms | p99 ms | server CPU µs/request | target | result |\n|---|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, a := range r.auth {
		target, result := "", ""
		if a.Server == "herald" {
			target = fmt.Sprintf("p99 < %.0f ms", targetAuthP99Millis)
			if ms(a.P99) < targetAuthP99Millis {
				result = fmt.Sprintf("PASS (%.2f ms)", ms(a.P99))
			} else {
				result = fmt.Sprintf("**MISS** by %s (%.2f ms)", pct((ms(a.P99)-targetAuthP99Millis)/targetAuthP99Millis), ms(a.P99))
			}
			r.judge(fmt.Sprintf("auth, %s, %d in flight: herald p99", a.Kind, a.Concurrency), target, result)
		}
		fmt.Fprintf(b, "| %s | %s | %d | %.0f | %.2f | %.2f | %.0f | %s | %s |\n", a.Server, a.Kind, a.Concurrency, a.rps(), ms(a.P50), ms(a.P99), float64(a.cpuPerRequest())/1e3, target, result)
	}
	b.WriteString("\n| comparison | channel | in flight | value | target | result |\n|---|---|---:|---:|---|---|\n")
	for _, h := range r.auth {
		if h.Server != "herald" {
			continue
		}
		for _, n := range r.auth {
			if n.Server == "herald" || n.Kind != h.Kind || n.Concurrency != h.Concurrency {
				continue
			}
			v := h.rps() / n.rps()
			target, verdict := "", ""
			if n.Server == "node keyobject" {
				target = fmt.Sprintf(">= %.0fx", targetAuthVsNode)
				verdict = r.judge(fmt.Sprintf("auth, %s, %d in flight: herald req/s / Node's", h.Kind, h.Concurrency), target, atLeast(v, targetAuthVsNode, "x"))
			}
			fmt.Fprintf(b, "| herald req/s / %s req/s | %s | %d | %.2fx | %s | %s |\n", n.Server, h.Kind, h.Concurrency, v, target, verdict)
		}
	}
}
