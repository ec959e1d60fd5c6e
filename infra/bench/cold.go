package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/heraldrt/herald/shared/signature"
)

// coldTarget is one binary measured under the emulator: its package, the
// environment it is configured by, its first invocation and how to tell
// that the answer is a success.
type coldTarget struct {
	name    string
	pkg     string // relative to the repository root
	env     []string
	payload func() ([]byte, error)
	ok      func(answer []byte) error
	// events is how many events the invocation must deliver to the
	// stand-in.
	events int
	// async functions run behind an SQS or stream batching window: their
	// target is an added time over hello world, not a ratio.
	async bool
}

// coldBinary is what was measured for one target.
type coldBinary struct {
	name      string
	runs      []time.Duration // sorted
	inits     []time.Duration // package initialisation, sorted
	heaviest  []initStep      // the slowest initialisers of the last init run
	arm64Size int64
	async     bool   // judged by added milliseconds, not a ratio
	skipped   string // why it was not measured
}

func (c coldBinary) median() time.Duration { return percentile(c.runs, 0.5) }

// coldResults are the cold-start measurements, the hello-world baseline
// first.
type coldResults struct {
	binaries []coldBinary
}

// coldTargets are the hello-world baseline and herald's four functions,
// each configured to reach the stand-in at pusherAddr and given an
// ordinary first invocation.
func coldTargets(root, pusherAddr string) []coldTarget {
	host, port, _ := splitHostPort(pusherAddr)
	broadcastEnv := []string{
		"BROADCAST_CONNECTION=pusher", "PUSHER_APP_ID=" + benchAppID, "PUSHER_APP_KEY=" + benchKey,
		"PUSHER_APP_SECRET=" + benchSecret, "PUSHER_HOST=" + host, fmt.Sprintf("PUSHER_PORT=%d", port), "PUSHER_SCHEME=http",
	}
	// The trigger functions start as deployed: with a dead-letter queue,
	// so their SQS client is built at init. Nothing is sent to it (the
	// first invocation has no poison), so the endpoint is never dialled.
	awsEnv := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_SESSION_TOKEN=bench",
		"AWS_ENDPOINT_URL=http://127.0.0.1:9", "BROADCAST_DLQ_URL=http://127.0.0.1:9/123456789012/herald-broadcast-dlq",
	}
	sample := func(name string) func() ([]byte, error) {
		return func() ([]byte, error) { return os.ReadFile(filepath.Join(root, "events", "samples", name)) }
	}
	return []coldTarget{
		{name: "hello", pkg: "./infra/bench/hello",
			payload: func() ([]byte, error) { return []byte(`{}`), nil },
			ok:      wantBody(`"hello":"world"`)},
		{name: "queue", pkg: "./functions/queue/bootstrap", env: append(awsEnv, broadcastEnv...), async: true,
			payload: func() ([]byte, error) { return json.Marshal(sqsBatch(1)) },
			ok:      wantNoItemFailures, events: 1},
		{name: "stream", pkg: "./functions/stream/bootstrap",
			env: append(append([]string{"STREAM_TABLES=Outbox:\n  mode: outbox\n"}, awsEnv...), broadcastEnv...), async: true,
			payload: sample("dynamodb-outbox-insert.json"),
			ok:      wantNoItemFailures, events: 1},
		{name: "publish", pkg: "./functions/publish/bootstrap",
			env: append([]string{"PUBLISH_MODE=direct", "PUBLISH_APP_ID=" + benchAppID,
				"PUBLISH_APP_KEY=" + benchKey, "PUBLISH_APP_SECRET=" + benchSecret}, broadcastEnv...),
			payload: publishEvent,
			ok:      wantStatus(http.StatusOK), events: 1},
		{name: "auth", pkg: "./functions/auth/bootstrap", env: authEnv(),
			payload: authEvent,
			ok:      wantStatus(http.StatusOK)},
	}
}

func wantBody(s string) func([]byte) error {
	return func(b []byte) error {
		if !bytes.Contains(b, []byte(s)) {
			return fmt.Errorf("answer %s lacks %s", b, s)
		}
		return nil
	}
}

func wantNoItemFailures(b []byte) error {
	var r struct {
		Failures []any `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Failures) != 0 {
		return fmt.Errorf("answer %s is not a batch response without failures", b)
	}
	return nil
}

func wantStatus(status int) func([]byte) error {
	return func(b []byte) error {
		var r events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(b, &r); err != nil || r.StatusCode != status {
			return fmt.Errorf("answer %s is not HTTP %d", b, status)
		}
		return nil
	}
}

// publishEvent is an API Gateway HTTP API event carrying a freshly signed
// Pusher HTTP API trigger, as an app's Pusher SDK sends it.
func publishEvent() ([]byte, error) {
	body := []byte(`{"name":"OrderShipped","channels":["private-App.Models.User.1"],"data":"{\"order_id\":1}"}`)
	path := "/apps/" + benchAppID + "/events"
	q := signature.SignRequest(http.MethodPost, path, url.Values{}, body, benchKey, benchSecret, time.Now())
	now := time.Now()
	return json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /apps/{app_id}/events", RawPath: path, RawQueryString: q.Encode(),
		Headers: map[string]string{"content-type": "application/json", "host": "bench.execute-api.eu-west-1.amazonaws.com"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "POST /apps/{app_id}/events", Stage: "$default", RequestID: "bench-publish",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
			TimeEpoch: now.UnixMilli(),
		},
		PathParameters: map[string]string{"app_id": benchAppID},
		Body:           string(body),
	})
}

// authEvent is an API Gateway HTTP API event carrying pusher-js's
// subscription request for the caller's own private channel.
func authEvent() ([]byte, error) {
	tokens, err := authTokens()
	if err != nil {
		return nil, err
	}
	body := url.Values{"socket_id": {"1234.5678"}, "channel_name": {"private-App.Models.User.1"}}.Encode()
	now := time.Now()
	return json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /broadcasting/auth", RawPath: "/broadcasting/auth",
		Headers: map[string]string{
			"content-type":  "application/x-www-form-urlencoded",
			"authorization": "Bearer " + tokens[0],
			"host":          "bench.execute-api.eu-west-1.amazonaws.com",
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "POST /broadcasting/auth", Stage: "$default", RequestID: "bench-auth",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: "/broadcasting/auth", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
			TimeEpoch: now.UnixMilli(),
		},
		Body: body,
	})
}

// runCold builds every target for amd64 (to run here) and arm64 (for its
// size), then starts each o.coldRuns times under the emulator, taking turns
// so that a change in machine load affects all of them alike.
func runCold(ctx context.Context, env *benchEnv, o options) (*coldResults, error) {
	env.progress("cold start: finding or installing the Lambda runtime interface emulator %s", rieVersion)
	rie, err := installRIE(ctx)
	if err != nil {
		return nil, err
	}

	// A stand-in without delay: a cold start should not include a
	// simulated round trip the baseline does not make.
	papi := newPusherAPI(benchAppID, benchKey, benchSecret, 0)
	standin, err := serve(papi, &papi.counter)
	if err != nil {
		return nil, err
	}
	defer standin.close()

	targets := coldTargets(env.root, standin.addr)
	res := &coldResults{binaries: make([]coldBinary, len(targets))}
	bins := make([]string, len(targets))
	payloads := make([][]byte, len(targets))
	for i, t := range targets {
		res.binaries[i].name = t.name
		res.binaries[i].async = t.async
		if i > 0 && len(o.coldOnly) > 0 && !o.coldOnly[t.name] {
			res.binaries[i].skipped = "not selected (-cold-only)"
			continue
		}
		if _, err := os.Stat(filepath.Join(env.root, t.pkg, "main.go")); err != nil {
			res.binaries[i].skipped = "no " + strings.TrimPrefix(t.pkg, "./") + "/main.go"
			env.progress("cold start: %s skipped (%s)", t.name, res.binaries[i].skipped)
			continue
		}
		env.progress("cold start: building %s (amd64 and arm64)", t.name)
		dir := filepath.Join(env.dir, "cold", fmt.Sprint(i))
		bins[i] = filepath.Join(dir, "amd64", "bootstrap")
		if err := buildLambda(ctx, env.root, t.pkg, "amd64", bins[i]); err != nil {
			return nil, err
		}
		arm := filepath.Join(dir, "arm64", "bootstrap")
		if err := buildLambda(ctx, env.root, t.pkg, "arm64", arm); err != nil {
			return nil, err
		}
		if res.binaries[i].arm64Size, err = fileSize(arm); err != nil {
			return nil, err
		}
		if payloads[i], err = t.payload(); err != nil {
			return nil, fmt.Errorf("%s payload: %w", t.name, err)
		}
	}
	for run := range o.coldRuns {
		for i, t := range targets {
			if bins[i] == "" {
				continue
			}
			papi.counter.take()
			r, err := coldStart(ctx, rie, bins[i], t.env, payloads[i])
			if err != nil {
				return nil, err
			}
			if err := t.ok(r.Answer); err != nil {
				return nil, fmt.Errorf("cold start of %s: %w", t.name, err)
			}
			if got := papi.counter.take(); got.Events != t.events || got.Refusals != 0 {
				return nil, fmt.Errorf("cold start of %s: the stand-in counted %d events and %d refusals, want %d and 0 (%s)",
					t.name, got.Events, got.Refusals, t.events, got.FirstRefusal)
			}
			res.binaries[i].runs = append(res.binaries[i].runs, r.First)
			if run < initRuns {
				d, heavy, err := packageInit(ctx, bins[i], t.env)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", t.name, err)
				}
				res.binaries[i].inits = append(res.binaries[i].inits, d)
				res.binaries[i].heaviest = heavy
			}
		}
		env.progress("cold start: run %d of %d done", run+1, o.coldRuns)
	}
	for i := range res.binaries {
		slices.Sort(res.binaries[i].runs)
		slices.Sort(res.binaries[i].inits)
	}
	return res, nil
}

// initRuns is how many times packageInit is measured per binary.
const initRuns = 5

var initTraceRE = regexp.MustCompile(`(?m)^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock`)

// initStep is one package's initialiser and how long it ran.
type initStep struct {
	pkg string
	d   time.Duration
}

// packageInit is the time the Go runtime spends running a binary's package
// initialisers (GODEBUG=inittrace=1, summed), with the three slowest. The
// binary is pointed at a runtime API that refuses connections, so it exits
// right after its own set-up, before any invocation.
func packageInit(ctx context.Context, bin string, env []string) (time.Duration, []initStep, error) {
	port, err := freePort()
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(append(os.Environ(), env...), "GODEBUG=inittrace=1", fmt.Sprintf("AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", port))
	out, _ := cmd.CombinedOutput() // it fails by design: no runtime API
	var total time.Duration
	var steps []initStep
	for _, m := range initTraceRE.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		d := time.Duration(v * float64(time.Millisecond))
		total += d
		steps = append(steps, initStep{string(m[1]), d})
	}
	if len(steps) == 0 {
		return 0, nil, fmt.Errorf("no inittrace output from %s: %s", bin, tailString(string(out), 500))
	}
	slices.SortFunc(steps, func(a, b initStep) int { return cmp.Compare(b.d, a.d) })
	return total, steps[:min(3, len(steps))], nil
}

func (r *report) coldTable(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Cold start under the AWS Lambda Runtime Interface Emulator (%s)\n\n", rieVersion)
	fmt.Fprintf(b, "Each binary built as the Makefile builds it (`-tags lambda.norpc -trimpath -ldflags=\"-s -w\"`, CGO off). "+
		"Time from sending the first invocation to its answer; the emulator starts the bootstrap process when that invocation arrives, "+
		"so this is process start, runtime and function init, and one ordinary invocation (the trigger functions send one event to a stand-in answering at once). "+
		"Median of %d runs, binaries taking turns. "+
		"Package init is the part spent in Go package initialisers (GODEBUG=inittrace=1, summed; median of %d runs). "+
		"Sizes are the linux/arm64 builds that are deployed.\n\n", r.opts.coldRuns, initRuns)
	b.WriteString("| binary | median ms | min ms | max ms | package init ms | x hello | target | result | arm64 MiB | target | result |\n|---|---:|---:|---:|---:|---:|---|---|---:|---|---|\n")
	var hello time.Duration
	for i, c := range r.cold.binaries {
		if c.skipped != "" {
			fmt.Fprintf(b, "| %s | | | | | | | not measured: %s | | | |\n", c.name, c.skipped)
			continue
		}
		name := c.name
		if i == 0 {
			hello = c.median()
			name = "hello (aws-lambda-go baseline)"
		}
		size := float64(c.arm64Size) / mib
		ratio := float64(c.median()) / float64(hello)
		coldTarget, coldResult, sizeTarget, sizeResult := "", "", "", ""
		if i > 0 {
			if c.async {
				coldTarget = fmt.Sprintf("<= hello + %.0f ms", targetColdExtraMs)
				coldResult = r.judge(name+": cold start - hello", coldTarget, atMost(ms(c.median()-hello), targetColdExtraMs, " ms"))
			} else {
				coldTarget = fmt.Sprintf("<= %.1fx hello", targetColdRatio)
				coldResult = r.judge(name+": cold start / hello", coldTarget, atMost(ratio, targetColdRatio, "x"))
			}
			sizeTarget = fmt.Sprintf("<= %.0f MiB", targetBinaryMiB)
			sizeResult = r.judge(name+": arm64 binary", sizeTarget, atMost(size, targetBinaryMiB, " MiB"))
		}
		fmt.Fprintf(b, "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %.1f | %s | %s |\n", name, ms(c.median()),
			ms(c.runs[0]), ms(c.runs[len(c.runs)-1]), ms(percentile(c.inits, 0.5)), ratio, coldTarget, coldResult, size, sizeTarget, sizeResult)
	}
	b.WriteString("\nSlowest package initialisers (one run):\n\n")
	for _, c := range r.cold.binaries {
		if len(c.heaviest) == 0 {
			continue
		}
		parts := make([]string, len(c.heaviest))
		for i, h := range c.heaviest {
			parts[i] = fmt.Sprintf("`%s` %.2f ms", h.pkg, ms(h.d))
		}
		fmt.Fprintf(b, "- %s: %s\n", c.name, strings.Join(parts, ", "))
	}
}
