package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/heraldrt/herald/infra/local/stack"
	"github.com/heraldrt/herald/infra/testkit"
)

// startStack runs the local stack in-process on free loopback ports with
// only the given variables set (the developer's own environment must not
// change what the test sees), and stops it when the test ends.
func startStack(t *testing.T, vars map[string]string) *stack.Stack {
	t.Helper()
	st, err := stack.New(stack.Config{
		HTTPAddr:    "127.0.0.1:0",
		ServerAddr:  "127.0.0.1:0",
		AWSAddr:     "127.0.0.1:0",
		Lookup:      func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		NodeModules: testkit.NodeModules(t),
		Logger:      testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stack shutdown: %v", err)
			}
		case <-time.After(stack.ShutdownTimeout + 5*time.Second):
			t.Errorf("stack did not stop within %v", stack.ShutdownTimeout+5*time.Second)
		}
	})
	testkit.WaitForTCP(t, st.URLs().HTTP[len("http://"):], 10*time.Second)
	return st
}

// artifactDir is where browser tests leave screenshots: $HERALD_ARTIFACTS,
// else a folder under the system's temporary directory.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("HERALD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "herald-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type demoResult struct {
	Online        []string `json:"online"`
	LatencyMS     int      `json:"email_latency_ms"`
	Explain       string   `json:"explain"`
	AliceInbox    []string `json:"alice_inbox"`
	BobInbox      []string `json:"bob_inbox"`
	Renamed       string   `json:"renamed"`
	Created       string   `json:"created_then_deleted"`
	Screenshot    string   `json:"screenshot"`
	OnlineAfterBy []string `json:"online_after_bob_left"`
}

// TestDemoInBrowser runs the seed scenario in headless Chromium against the
// whole local stack, once per driver: the pusher driver against the
// server's Pusher HTTP API, and the ably driver against its Ably REST side.
// The users panel's writes go to moto's Users table and come back to both
// tabs through its stream and the StreamFunction.
func TestDemoInBrowser(t *testing.T) {
	chromium := testkit.Chromium(t)
	for _, connection := range []string{"pusher", "ably"} {
		t.Run(connection, func(t *testing.T) {
			st := startStack(t, map[string]string{"BROADCAST_CONNECTION": connection})
			shot := filepath.Join(artifactDir(t), "demo-inbox-"+connection+".png")
			var r demoResult
			runBrowserScript(t, st, chromium, "e2e-demo.js", shot, &r)
			// The script fails on its own when an expectation is not met;
			// these check that it checked what it says it did.
			if fmt.Sprint(r.Online) != "[42 43]" {
				t.Errorf("online list = %v, want Alice and Bob", r.Online)
			}
			if len(r.AliceInbox) != 1 || len(r.BobInbox) != 1 || r.AliceInbox[0] == r.BobInbox[0] {
				t.Errorf("inboxes: Alice %v, Bob %v; want one different email each", r.AliceInbox, r.BobInbox)
			}
			if fmt.Sprint(r.OnlineAfterBy) != "[42]" {
				t.Errorf("online after Bob left = %v, want only Alice", r.OnlineAfterBy)
			}
			if r.Renamed == "" || r.Created == "" {
				t.Errorf("users panel: renamed %q, created and deleted %q; want both done", r.Renamed, r.Created)
			}
			if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
				t.Errorf("screenshot %s: %v", shot, err)
			}
			dlq, err := sqs.NewFromConfig(st.AWSConfig()).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
				QueueUrl: aws.String(st.URLs().DLQ), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
			if err != nil {
				t.Fatal(err)
			}
			if n := dlq.Attributes["ApproximateNumberOfMessages"]; n != "0" {
				t.Errorf("%s messages in the DLQ after a clean run", n)
			}
			t.Logf("%s: email from admin click to Alice's inbox in %d ms (queue poll, QueueFunction, %s driver, server, pusher-js); screenshot %s",
				connection, r.LatencyMS, connection, shot)
		})
	}
}

// runBrowserScript runs one of infra/node/scripts' demo-page scenarios in
// Chromium against the stack and decodes the JSON line it ends with into
// result. The script fails on its own when an expectation is not met.
func runBrowserScript(t *testing.T, st *stack.Stack, chromium, script, shot string, result any) {
	t.Helper()
	os.Remove(shot)
	out := testkit.RunNode(t, 3*time.Minute, []string{
		"BASE_URL=" + st.URLs().HTTP,
		"CHROMIUM=" + chromium,
		"SCREENSHOT=" + shot,
		"TIMEOUT_MS=30000",
	}, filepath.Join(testkit.RepoRoot(t), "infra", "node", "scripts", script))
	lines := testkit.Lines(out)
	if len(lines) == 0 {
		t.Fatal("the browser script printed nothing")
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), result); err != nil {
		t.Fatalf("browser script output %q: %v", out, err)
	}
}
