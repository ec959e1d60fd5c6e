package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/heraldrt/herald/shared/config"
)

func TestNewAttachesRequestID(t *testing.T) {
	// The handler writes to the os.Stdout it finds when built.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, prevDefault := os.Stdout, slog.Default()
	os.Stdout = w
	logger := New()
	os.Stdout = stdout
	t.Cleanup(func() { slog.SetDefault(prevDefault) })

	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-123"})
	logger.InfoContext(ctx, "broadcast sent", "events", 3)
	slog.Default().InfoContext(ctx, "via default")
	w.Close()
	out, _ := io.ReadAll(r)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q", out)
	}
	for _, line := range lines {
		// TEXT unless the environment asks for JSON, as Lambda does.
		if !strings.Contains(line, "requestId=req-123") && !strings.Contains(line, `"requestId":"req-123"`) {
			t.Errorf("line %q lacks the request id", line)
		}
	}
	if !strings.Contains(lines[0], `message="broadcast sent"`) && !strings.Contains(lines[0], `"message":"broadcast sent"`) {
		t.Errorf("line %q", lines[0])
	}
}

func TestInitBuildsFromTheEnvironment(t *testing.T) {
	prevDefault := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prevDefault) })
	t.Setenv("BROADCAST_CONNECTION", "log")
	got := Init("test", func(_ context.Context, env config.Lookup, log *slog.Logger) (string, error) {
		if log != slog.Default() {
			t.Error("build's logger is not slog's default")
		}
		return env.Get("BROADCAST_CONNECTION"), nil
	})
	if got != "log" {
		t.Fatalf("Init = %q, want the handler build made from BROADCAST_CONNECTION", got)
	}
}
