package deploy

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/signature"
)

// builds holds each binary built during this test run: each is built once
// (they are slow to build on small machines) and removed at the end.
var builds struct {
	mu   sync.Mutex
	dir  string
	done map[string]string
	errs map[string]error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// build returns the bootstrap of one function for arch: arm64 through the
// Makefile target SAM calls, amd64 (to run here) with the same flags.
func build(t *testing.T, function, arch string) string {
	t.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	key := function + "/" + arch
	if p, ok := builds.done[key]; ok {
		return p
	}
	if err, ok := builds.errs[key]; ok {
		t.Fatal(err)
	}
	if builds.dir == "" {
		d, err := os.MkdirTemp("", "herald-builds-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.done, builds.errs = d, map[string]string{}, map[string]error{}
	}
	out := filepath.Join(builds.dir, function, arch)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if arch == "arm64" {
		cmd = exec.Command("make", "--no-print-directory", "build-"+function, "ARTIFACTS_DIR="+out)
	} else {
		cmd = exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(out, "bootstrap"), "./functions/"+functions[function]+"/bootstrap")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	}
	cmd.Dir = testkit.RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		builds.errs[key] = fmt.Errorf("building %s for %s: %v\n%s", function, arch, err, b)
		t.Fatal(builds.errs[key])
	}
	p := filepath.Join(out, "bootstrap")
	builds.done[key] = p
	return p
}

// maxBinaryMiB bounds each deployed binary: the cold start grows with what
// is mapped and initialised, and infra/bench judges the same limit.
const maxBinaryMiB = 16

func TestMakeBuildsArm64Bootstraps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function: skipped with -short")
	}
	for name := range functions {
		t.Run(name, func(t *testing.T) {
			p := build(t, name, "arm64")
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode()&0o111 == 0 {
				t.Errorf("bootstrap is not executable: %v", st.Mode())
			}
			f, err := elf.Open(p)
			if err != nil {
				t.Fatalf("bootstrap is not an ELF file: %v", err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
				t.Errorf("bootstrap is %v %v, want EM_AARCH64 64-bit", f.Machine, f.Class)
			}
			if f.Section(".symtab") != nil {
				t.Errorf("bootstrap is not stripped (-s -w)")
			}
			t.Logf("%s: arm64 bootstrap %.1f MB", name, float64(st.Size())/1e6)
			if mib := float64(st.Size()) / (1 << 20); mib > maxBinaryMiB {
				t.Errorf("%s: arm64 bootstrap is %.1f MiB, more than %d MiB", name, mib, maxBinaryMiB)
			}
		})
	}
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "events", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resign signs an HTTP API sample's request again at the current time,
// with the credentials it was signed with.
func resign(t *testing.T, event []byte, key, secret string) []byte {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	q := signature.SignRequest("POST", ev.RawPath, nil, []byte(ev.Body), key, secret, time.Now())
	ev.RawQueryString = q.Encode()
	ev.QueryStringParameters = map[string]string{}
	for k := range q {
		ev.QueryStringParameters[k] = q.Get(k)
	}
	out, _ := json.Marshal(ev)
	return out
}

// The functions' real binaries, run by the Lambda Runtime Interface
// Emulator and reached through the real Runtime API, broadcast the samples
// to a Pusher API stand-in, and queue and dead-letter to moto, reached as
// in AWS through the SDK's AWS_ENDPOINT_URL.
func TestFunctionsUnderTheRuntimeEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every function: skipped with -short")
	}
	const appID, key, secret = "1", "upstream-key", "upstream-secret"
	api := testkit.NewPusherAPI(t, appID, key, secret)
	pusherEnv := []string{
		"BROADCAST_CONNECTION=pusher", "PUSHER_APP_ID=" + appID, "PUSHER_APP_KEY=" + key, "PUSHER_APP_SECRET=" + secret,
		"PUSHER_HOST=" + api.Host(), fmt.Sprintf("PUSHER_PORT=%d", api.Port()), "PUSHER_SCHEME=http",
	}
	motoSrv := startMoto(t)
	sqsClient := sqs.NewFromConfig(testkit.AWSConfig(motoSrv))
	dlqURL, queueURL := testkit.Queue(t, sqsClient, "herald-dlq"), testkit.Queue(t, sqsClient, "herald-broadcast")

	const publishKey, publishSecret = "278d425bdf160c739803", "7ad3773142a6692b25b8"
	cases := []struct {
		name     string
		function string
		env      []string
		event    func(t *testing.T) []byte
		check    func(t *testing.T, out []byte)
	}{
		{
			name:     "QueueFunction",
			function: "QueueFunction",
			env:      slices.Concat([]string{"BROADCAST_DLQ_URL=" + dlqURL}, motoSrv.Env(), pusherEnv),
			event:    func(t *testing.T) []byte { return readSample(t, "sqs-mixed-poison.json") },
			check: func(t *testing.T, out []byte) {
				var resp events.SQSEventResponse
				if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("answer %s (%v), want no batch item failures", out, err)
				}
				const mixed = "0f9a1c2e-2222-4b6e-9a51-6f3f2b7c000"
				var got []string
				for _, m := range testkit.ReceiveAll(t, sqsClient, dlqURL) {
					got = append(got, aws.ToString(m.MessageAttributes["source_id"].StringValue)+" "+aws.ToString(m.MessageAttributes["source"].StringValue))
				}
				if want := []string{mixed + "2 queue", mixed + "3 queue"}; !slices.Equal(got, want) {
					t.Errorf("dead letters %q, want the 2 poison messages %q", got, want)
				}
				expectEvents(t, api, "EmailSent", "EmailRead", `Illuminate\Notifications\Events\BroadcastNotificationCreated`)
			},
		},
		{
			name:     "StreamFunction",
			function: "StreamFunction",
			env:      append([]string{"STREAM_TABLES=Users: {mode: model, model: User, hidden: [password, remember_token]}"}, pusherEnv...),
			event:    func(t *testing.T) []byte { return readSample(t, "dynamodb-users-insert.json") },
			check: func(t *testing.T, out []byte) {
				var resp events.DynamoDBEventResponse
				if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("answer %s (%v), want no batch item failures", out, err)
				}
				evs := expectEvents(t, api, "UserCreated")
				if len(evs) == 1 && (strings.Contains(evs[0].Data, "password") || !strings.Contains(evs[0].Data, `"account_number":123456789012345678901234567890`)) {
					t.Errorf("UserCreated data %s", evs[0].Data)
				}
			},
		},
		{
			name:     "PublishFunction direct",
			function: "PublishFunction",
			env:      append([]string{"PUBLISH_MODE=direct", "PUBLISH_APP_ID=3", "PUBLISH_APP_KEY=" + publishKey, "PUBLISH_APP_SECRET=" + publishSecret}, pusherEnv...),
			event: func(t *testing.T) []byte {
				return resign(t, readSample(t, "http-publish-batch-events.json"), publishKey, publishSecret)
			},
			check: func(t *testing.T, out []byte) {
				var resp events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 || resp.Body != "{}" {
					t.Fatalf("answer %s (%v), want 200 {}", out, err)
				}
				expectEvents(t, api, "EmailSent", "EmailSent")
			},
		},
		{
			name:     "PublishFunction queue",
			function: "PublishFunction",
			env: append([]string{"PUBLISH_MODE=queue", "PUBLISH_APP_ID=3", "PUBLISH_APP_KEY=" + publishKey, "PUBLISH_APP_SECRET=" + publishSecret,
				"BROADCAST_QUEUE_URL=" + queueURL}, motoSrv.Env()...),
			event: func(t *testing.T) []byte {
				return resign(t, readSample(t, "http-publish-events.json"), publishKey, publishSecret)
			},
			check: func(t *testing.T, out []byte) {
				var resp events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 {
					t.Fatalf("answer %s (%v), want 200", out, err)
				}
				msgs := testkit.ReceiveAll(t, sqsClient, queueURL)
				if len(msgs) != 1 || !strings.Contains(aws.ToString(msgs[0].Body), `"name":"EmailSent"`) {
					t.Errorf("queued %d messages, want the one EmailSent envelope", len(msgs))
				}
				expectEvents(t, api)
			},
		},
		{
			name:     "AuthFunction",
			function: "AuthFunction",
			env: []string{"BROADCAST_CONNECTION=pusher", "PUSHER_APP_KEY=local-key", "PUSHER_APP_SECRET=local-secret",
				"AUTH_JWT_SECRET=herald-local-jwt-secret-for-development-only", "AUTH_CORS_ORIGINS=http://localhost:5173"},
			event: func(t *testing.T) []byte { return readSample(t, "http-auth-private.json") },
			check: func(t *testing.T, out []byte) {
				var resp events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 {
					t.Fatalf("answer %s (%v), want 200", out, err)
				}
				var body struct{ Auth string }
				json.Unmarshal([]byte(resp.Body), &body)
				want := signature.ChannelAuth("local-key", "local-secret", "123456.654321", "private-App.Models.User.42", "")
				if body.Auth != want {
					t.Errorf("auth = %q, want %q", body.Auth, want)
				}
			},
		},
	}
	// One after another: the machine is small and each emulator runs a
	// whole function.
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api.Reset()
			bin := build(t, c.function, "amd64")
			fn := testkit.StartLambda(t, bin, c.env)
			out := fn.Invoke(t, c.event(t))
			if strings.Contains(string(out), `"errorMessage"`) {
				t.Fatalf("the function failed: %s\noutput:\n%s", out, fn.Output())
			}
			c.check(t, out)
		})
	}
}

// startMoto runs a moto for the calling test alone, stopped when it ends:
// this package's TestMain removes the builds, so testkit.Main cannot stop a
// shared one.
func startMoto(t *testing.T) *moto.Server {
	t.Helper()
	var err error
	for range 3 { // the free port may be taken before moto binds it
		var srv *moto.Server
		if srv, err = moto.Start(context.Background(), moto.Config{Addr: "127.0.0.1:0", Dir: testkit.RepoRoot(t)}); err == nil {
			t.Cleanup(srv.Stop)
			return srv
		}
		if errors.Is(err, moto.ErrNotInstalled) {
			break
		}
	}
	t.Fatal(err)
	return nil
}

// expectEvents checks the names of the events the stand-in accepted, in
// any order, and returns them.
func expectEvents(t *testing.T, api *testkit.PusherAPI, names ...string) []testkit.PusherEvent {
	t.Helper()
	evs := api.Events()
	got := map[string]int{}
	for _, e := range evs {
		got[e.Name]++
	}
	want := map[string]int{}
	for _, n := range names {
		want[n]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("broadcast %v, want %v", got, want)
	}
	return evs
}
