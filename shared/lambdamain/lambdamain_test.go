package lambdamain

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

func TestLoggerAttachesRequestID(t *testing.T) {
	// The handler writes to the os.Stdout it finds when built.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, prevDefault := os.Stdout, slog.Default()
	os.Stdout = w
	logger := Logger()
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

func TestLoadBuildsFromTheEnvironment(t *testing.T) {
	prevDefault := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prevDefault) })
	t.Setenv("BROADCAST_CONNECTION", "log")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	log := Logger()
	h, err := load(t.Context(), "queue", func(_ context.Context, env config.Lookup, l *slog.Logger) (any, error) {
		if l != log {
			t.Error("build is not given the bootstrap's logger")
		}
		return func() (string, error) { return env.Get("BROADCAST_CONNECTION"), nil }, nil
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Invoke(t.Context(), []byte("{}"))
	if err != nil || string(out) != `"log"` {
		t.Fatalf("Invoke = %s, %v; want the handler build made from BROADCAST_CONNECTION", out, err)
	}
	if _, ok := h.(*observed); !ok {
		t.Errorf("handler %T is not instrumented, or is traced with no OTLP endpoint set", h)
	}
}
