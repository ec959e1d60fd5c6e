// Command local runs herald on one machine (what `make dev` runs):
//
//	go run ./infra/local [-http 127.0.0.1:3000] [-server 127.0.0.1:6001] [-aws 127.0.0.1:4566]
//
// and runs one function on one event, like `sam local invoke`:
//
//	go run ./infra/local invoke <LogicalId> -e <event.json> [-keep-signature] [-http ...] [-server ...] [-aws ...]
//
// It starts moto on the -aws address with template.yaml's queues, tables,
// secret, topic and rule. Configuration is the production environment
// (BROADCAST_CONNECTION, PUSHER_*, ABLY_*, AUTH_*, CHANNELS*,
// STREAM_TABLES*, PUBLISH_*) with local defaults that point everything at
// the embedded server and moto; see package stack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/heraldrt/herald/infra/local/stack"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "invoke" {
		return invokeCmd(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpAddr := fs.String("http", stack.DefaultHTTPAddr, "address of the HTTP functions and the demo page")
	serverAddr := fs.String("server", stack.DefaultServerAddr, "address of the embedded Pusher-compatible server")
	awsAddr := fs.String("aws", stack.DefaultAWSAddr, "address of the local AWS (moto): AWS_ENDPOINT_URL")
	visibility := fs.Duration("visibility", stack.QueueVisibilityTimeout, "visibility timeout of the broadcast queue (whole seconds; template.yaml's by default, shorter to watch retries)")
	verbose := fs.Bool("v", false, "log at debug level, moto's requests included")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (did you mean `invoke`?)", fs.Arg(0))
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	st, err := stack.New(stack.Config{
		HTTPAddr:          *httpAddr,
		ServerAddr:        *serverAddr,
		AWSAddr:           *awsAddr,
		VisibilityTimeout: *visibility,
		Out:               stdout,
		Logger:            log,
		AWSLog:            awsLog(*verbose, stderr),
	})
	if err != nil {
		return err
	}
	// The first Ctrl-C shuts down gracefully; a second one stops at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
		fmt.Fprintln(stderr, "shutting down (Ctrl-C again to force)")
	}()
	if err := st.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}

// awsLog is where moto's request log goes: stderr with -v, else nowhere.
func awsLog(verbose bool, stderr io.Writer) io.Writer {
	if verbose {
		return stderr
	}
	return nil
}

func invokeCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: local invoke <LogicalId> -e <event.json>   (LogicalId: %s; -e - reads stdin)\n", strings.Join(stack.LogicalIDs, ", "))
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		fs.Usage()
		return errors.New("invoke: missing LogicalId")
	}
	id := args[0]
	if !slices.Contains(stack.LogicalIDs, id) {
		return fmt.Errorf("invoke: no function %q: want one of %s", id, strings.Join(stack.LogicalIDs, ", "))
	}
	eventPath := fs.String("e", "", "event file (a sample from events/samples/); - for stdin")
	// The address flags of `make dev`, so that one DEV_FLAGS serves both.
	httpAddr := fs.String("http", stack.DefaultHTTPAddr, "address of the running local stack's HTTP functions (the origin the AuthFunction answers)")
	serverAddr := fs.String("server", stack.DefaultServerAddr, "address of the running local stack's embedded server")
	awsAddr := fs.String("aws", stack.DefaultAWSAddr, "address of the running local stack's AWS (moto)")
	verbose := fs.Bool("v", false, "log at debug level")
	keep := fs.Bool("keep-signature", false, "hand HTTP events to the PublishFunction and the WebhookFunction as they are; by default one that does not verify with the running stack's credentials is signed again with them")
	fs.Duration("visibility", 0, "accepted for `make dev`'s DEV_FLAGS; the running stack's queue keeps its own")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *eventPath == "" {
		fs.Usage()
		return errors.New("invoke: -e <event.json> is required")
	}
	var event []byte
	var err error
	if *eventPath == "-" {
		event, err = io.ReadAll(os.Stdin)
	} else {
		event, err = os.ReadFile(*eventPath)
	}
	if err != nil {
		return fmt.Errorf("invoke: reading the event: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, err := stack.Invoke(ctx, stack.InvokeConfig{HTTPAddr: *httpAddr, ServerAddr: *serverAddr, AWSAddr: *awsAddr, Logger: log, Notices: stderr, KeepSignature: *keep}, id, event)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", id, err)
	}
	fmt.Fprintf(stdout, "%s\n", out)
	return nil
}
