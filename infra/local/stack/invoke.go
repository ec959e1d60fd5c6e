package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/heraldrt/herald/shared/config"
)

// invoke calls a Lambda handler with a JSON payload inside a Lambda-like
// context: a request id for the logger and the deadline ctx carries.
func invoke(ctx context.Context, h lambda.Handler, payload []byte) ([]byte, error) {
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: newRequestID()})
	return h.Invoke(ctx, payload)
}

// newRequestID is a Lambda request id: a random UUID.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// InvokeConfig configures Invoke.
type InvokeConfig struct {
	// HTTPAddr, ServerAddr and AWSAddr are where the running local stack
	// listens (its -http, -server and -aws): the local defaults point the
	// drivers and AWS there, and the AuthFunction answers the page's
	// origin. Defaults DefaultHTTPAddr, DefaultServerAddr, DefaultAWSAddr.
	HTTPAddr, ServerAddr, AWSAddr string
	// Lookup reads the environment; nil means os.LookupEnv.
	Lookup config.Lookup
	// Logger receives the function's logs; nil discards them.
	Logger *slog.Logger
	// Notices receives a line for each change Invoke makes to the event;
	// nil discards them.
	Notices io.Writer
	// KeepSignature hands HTTP events to the PublishFunction and the
	// WebhookFunction as they are. By default one whose signature does not
	// verify with the running stack's credentials is signed again with
	// them (see resign), so that the samples work against `make dev`.
	KeepSignature bool
}

// Invoke runs one function, named by its logical id in template.yaml, on
// one event, as `sam local invoke <LogicalId> -e event.json` does, and
// returns its JSON response. It runs against the running local stack: its
// moto's queues, tables and secret, and by default its embedded server.
// HTTP events to the PublishFunction and the WebhookFunction are signed
// again with the stack's credentials unless cfg.KeepSignature is set.
func Invoke(ctx context.Context, cfg InvokeConfig, logicalID string, event []byte) ([]byte, error) {
	c := Config{HTTPAddr: cfg.HTTPAddr, ServerAddr: cfg.ServerAddr, AWSAddr: cfg.AWSAddr, Lookup: cfg.Lookup, Logger: cfg.Logger}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	endpoint := "http://" + c.AWSAddr
	res, err := find(ctx, newClients(awsConfig(endpoint)))
	if err != nil {
		return nil, fmt.Errorf("the local stack's AWS at %s (is `make dev` running?): %w", endpoint, err)
	}
	env := newEnv(c.Lookup, c.HTTPAddr, c.ServerAddr, endpoint, res)
	if err := env.loadSecret(ctx); err != nil {
		return nil, err
	}
	fns, err := buildFunctions(ctx, env, c.Logger)
	if err != nil {
		return nil, fmt.Errorf("building the functions: %w", err)
	}
	h, err := fns.Handler(logicalID)
	if err != nil {
		return nil, err
	}
	if !cfg.KeepSignature {
		var note string
		if event, note, err = resign(ctx, logicalID, event, env, time.Now()); err != nil {
			return nil, fmt.Errorf("%s: %w", logicalID, err)
		}
		if note != "" && cfg.Notices != nil {
			fmt.Fprintf(cfg.Notices, "invoke %s: %s\n", logicalID, note)
		}
	}
	ictx, cancel := context.WithTimeout(ctx, FunctionTimeout)
	defer cancel()
	return invoke(ictx, h, event)
}

// sharedHandler is a Lambda handler that concurrent callers may share.
// aws-lambda-go's handlers answer in a pooled buffer that their next
// invocation reuses, which is safe in a Lambda (one invocation at a time)
// but not behind a local HTTP server: so each concurrent invocation takes
// a handler of its own from a pool and gets a copy of the answer.
type sharedHandler struct {
	pool sync.Pool
}

func newSharedHandler(fn any) *sharedHandler {
	s := &sharedHandler{}
	s.pool.New = func() any { return lambda.NewHandler(fn) }
	return s
}

func (s *sharedHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	h := s.pool.Get().(lambda.Handler)
	defer s.pool.Put(h)
	out, err := h.Invoke(ctx, payload)
	return bytes.Clone(out), err
}
