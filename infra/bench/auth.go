package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/functions/auth"
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
}

func (r authResult) rps() float64 { return float64(r.Requests) / r.Wall.Seconds() }

// runAuthServer is the child side of the herald auth server: the auth
// handler, configured as its bootstrap configures it from the environment,
// served over HTTP on a free loopback port whose address is printed on
// stdout. It serves until killed.
func runAuthServer() int {
	cfg, err := auth.LoadConfig(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "auth server:", err)
		return 1
	}
	h, err := auth.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(os.Stderr, nil)))
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

// startServer starts cmd, which prints its listening address as its first
// line, and returns that address and a func that kills it.
func startServer(ctx context.Context, cmd *exec.Cmd) (string, func(), error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
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
			stop()
			return "", nil, fmt.Errorf("%s did not print its address (%q); stderr:\n%s", filepath.Base(cmd.Path), addr, stderr.tail(2000))
		}
		return addr, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("%s did not start within 30 s; stderr:\n%s", filepath.Base(cmd.Path), stderr.tail(2000))
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
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

// authLoad sends n auth requests of one kind to addr with conc in flight,
// checks every answer's signature and returns the latencies. Each worker
// keeps one keep-alive connection, as a load generator such as wrk does.
func authLoad(ctx context.Context, addr, kind string, n, conc int, tokens []string) (authResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url0 := "http://" + addr + "/broadcasting/auth"

	// One warm-up request per connection, outside the measurement.
	do := func(i int) (time.Duration, error) {
		user := i%authUsers + 1
		socketID := fmt.Sprintf("%d.%d", 100000+i, 200000+i)
		ch := "presence-online"
		if kind == "private" {
			ch = "private-App.Models.User." + strconv.Itoa(user)
		}
		form := url.Values{"socket_id": {socketID}, "channel_name": {ch}}.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url0, strings.NewReader(form))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tokens[user-1])
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s auth for %s: HTTP %d: %s", kind, ch, resp.StatusCode, body)
		}
		return d, checkAuthAnswer(body, socketID, ch, strconv.Itoa(user))
	}
	var wg sync.WaitGroup
	warm := make(chan error, conc)
	for w := range conc {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := do(w); warm <- err }()
	}
	wg.Wait()
	close(warm)
	for err := range warm {
		if err != nil {
			return authResult{}, err
		}
	}

	lat := make([]time.Duration, n)
	var mu sync.Mutex
	var firstErr error
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d, err := do(i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat[i] = d
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if firstErr != nil {
		return authResult{}, firstErr
	}
	slices.Sort(lat)
	return authResult{Kind: kind, Requests: n, Concurrency: conc, Wall: wall,
		P50: percentile(lat, 0.50), P99: percentile(lat, 0.99)}, nil
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
// Node peer, both configured by authEnv.
func authServers(ctx context.Context, env *benchEnv) []authServer {
	return []authServer{
		{"herald", func() *exec.Cmd {
			cmd := exec.CommandContext(ctx, env.self)
			cmd.Env = append(append(os.Environ(), envWorker+"=auth"), authEnv()...)
			return cmd
		}},
		{"node", func() *exec.Cmd {
			cmd := exec.CommandContext(ctx, "node", filepath.Join(env.root, "infra", "bench", "node", "auth.js"))
			cmd.Env = append(append(os.Environ(), "NODE_PATH="+env.nodeModules), authEnv()...)
			return cmd
		}},
	}
}

// runAuth measures herald's auth handler and the Node peer, each in its own
// process, under the same load.
func runAuth(ctx context.Context, env *benchEnv, o options) ([]authResult, error) {
	tokens, err := authTokens()
	if err != nil {
		return nil, err
	}
	servers := authServers(ctx, env)
	var out []authResult
	for _, conc := range o.authConcurrency {
		for _, kind := range authKinds {
			for _, s := range servers {
				addr, stop, err := startServer(ctx, s.cmd())
				if err != nil {
					return nil, fmt.Errorf("%s auth server: %w", s.name, err)
				}
				r, err := authLoad(ctx, addr, kind, o.authRequests, conc, tokens)
				stop()
				if err != nil {
					return nil, fmt.Errorf("%s auth server: %w", s.name, err)
				}
				r.Server = s.name
				env.progress("auth %-6s %-8s %6d requests, %2d in flight: %7.0f req/s, p50 %.2f ms, p99 %.2f ms",
					s.name, kind, r.Requests, r.Concurrency, r.rps(), ms(r.P50), ms(r.P99))
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func (r *report) authTable(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Auth: POST /broadcasting/auth with a bearer HS256 JWT, on loopback\n\n")
	fmt.Fprintf(b, "Each server in its own process, started afresh per row; a Go load generator sends %d requests with a fixed number in flight "+
		"over keep-alive connections (one request per connection first, unmeasured) and verifies every answer's signature. "+
		"One in flight is how a Lambda instance is used; more shows throughput. "+
		"herald is the auth function's handler with its default rules, served by net/http as the Lambda adapter hands it requests, logging each decision as deployed; "+
		"the Node peer is node:http + jsonwebtoken + the pusher package's authorizeChannel with the same rules written in JavaScript.\n\n", r.opts.authRequests)
	b.WriteString("| server | channel | in flight | req/s | p50 ms | p99 ms | target | result |\n|---|---|---:|---:|---:|---:|---|---|\n")
	for _, a := range r.auth {
		target, result := "", ""
		if a.Server == "herald" {
			target = fmt.Sprintf("p99 < %.0f ms", targetAuthP99Millis)
			if ms(a.P99) < targetAuthP99Millis {
				result = fmt.Sprintf("PASS (%.2f ms)", ms(a.P99))
			} else {
				result = fmt.Sprintf("**MISS** by %.0f%% (%.2f ms)", 100*(ms(a.P99)-targetAuthP99Millis)/targetAuthP99Millis, ms(a.P99))
			}
			r.judge(fmt.Sprintf("auth, %s, %d in flight: herald p99", a.Kind, a.Concurrency), target, result)
		}
		fmt.Fprintf(b, "| %s | %s | %d | %.0f | %.2f | %.2f | %s | %s |\n", a.Server, a.Kind, a.Concurrency, a.rps(), ms(a.P50), ms(a.P99), target, result)
	}
	b.WriteString("\n| comparison | channel | in flight | value | target | result |\n|---|---|---:|---:|---|---|\n")
	for _, h := range r.auth {
		if h.Server != "herald" {
			continue
		}
		for _, n := range r.auth {
			if n.Server != "node" || n.Kind != h.Kind || n.Concurrency != h.Concurrency {
				continue
			}
			v := h.rps() / n.rps()
			target := fmt.Sprintf(">= %.0fx", targetAuthVsNode)
			verdict := r.judge(fmt.Sprintf("auth, %s, %d in flight: herald req/s / Node's", h.Kind, h.Concurrency), target, atLeast(v, targetAuthVsNode, "x"))
			fmt.Fprintf(b, "| herald req/s / Node req/s | %s | %d | %.2fx | %s | %s |\n", h.Kind, h.Concurrency, v, target, verdict)
		}
	}
}
