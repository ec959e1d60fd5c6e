package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/infra/server"
	"github.com/heraldrt/herald/infra/sqs"
	"github.com/heraldrt/herald/shared/sqsbatch"
)

// ShutdownTimeout bounds a graceful shutdown: what is still running after
// it is aborted.
const ShutdownTimeout = 10 * time.Second

// Stack is herald running on one machine. New opens its listeners; Run
// serves until its context ends.
type Stack struct {
	cfg Config
	log *slog.Logger
	env *env

	httpL, serverL, sqsL net.Listener

	server *server.Server
	sqs    *sqs.Server
	client *awssqs.Client // the local SQS, as an app would reach it
	fns    Functions
	poller *poller
	users  *usersTable

	queueURL, dlqURL string
	mux              *http.ServeMux

	// life bounds what the functions run in the background (JWKS
	// refreshes); it ends when Run returns.
	life    context.Context
	endLife context.CancelFunc

	runOnce sync.Once
}

// New validates cfg, opens the three listeners, builds the embedded server,
// the local queues and every function from the environment.
func New(cfg Config) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Stack{cfg: cfg, log: cfg.Logger}
	s.life, s.endLife = context.WithCancel(context.Background())
	var err error
	defer func() {
		if err != nil {
			s.endLife()
			s.closeListeners()
		}
	}()
	if s.httpL, err = listen("HTTP functions", cfg.HTTPAddr); err != nil {
		return nil, err
	}
	if s.serverL, err = listen("embedded server", cfg.ServerAddr); err != nil {
		return nil, err
	}
	if s.sqsL, err = listen("local SQS", cfg.SQSAddr); err != nil {
		return nil, err
	}
	sqsURL := "http://" + s.sqsL.Addr().String()
	sctx, cancel := context.WithTimeout(s.life, 30*time.Second)
	lookup, err := withSecret(sctx, cfg.Lookup)
	cancel()
	if err != nil {
		return nil, err
	}
	s.env = newEnv(lookup, s.serverL.Addr().String(), sqsURL)

	if s.server, err = s.newServer(); err != nil {
		return nil, err
	}
	if err = s.newQueues(sqsURL); err != nil {
		return nil, err
	}
	s.client = newSQSClient(sqsURL)
	s.users = newUsersTable()
	if s.fns, err = buildFunctions(s.life, s.env, newFunctionsSQSClient(sqsURL), s.log); err != nil {
		err = fmt.Errorf("building the functions: %w", err)
		return nil, err
	}
	s.poller = &poller{
		client:    s.client,
		queueURL:  s.queueURL,
		queueARN:  s.sqs.ARN(QueueName),
		region:    s.env.Get("AWS_REGION"),
		batchSize: cfg.BatchSize,
		handle:    s.fns.Queue,
		log:       s.log.With("component", "poller"),
	}
	s.routes()
	return s, nil
}

func listen(what, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listening on %s: %w (is another `make dev` running? pick another address with a flag)", what, addr, err)
	}
	return l, nil
}

func (s *Stack) closeListeners() {
	for _, l := range []net.Listener{s.httpL, s.serverL, s.sqsL} {
		if l != nil {
			l.Close()
		}
	}
}

// newServer serves the Pusher app of PUSHER_APP_* and the Ably app of
// ABLY_KEY, whichever driver is selected, so switching drivers needs no
// other change.
func (s *Stack) newServer() (*server.Server, error) {
	cfg := server.Config{
		Apps: []server.App{{
			ID:     s.env.Get("PUSHER_APP_ID"),
			Key:    s.env.Get("PUSHER_APP_KEY"),
			Secret: s.env.Get("PUSHER_APP_SECRET"),
		}},
		Logger: s.log.With("component", "server"),
	}
	if k := s.env.Get("ABLY_KEY"); k != "" {
		cfg.Ably = &server.AblyConfig{Key: k}
	}
	srv, err := server.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	return srv, nil
}

// newQueues creates the broadcast queue and its DLQ with the redrive policy
// template.yaml gives them.
func (s *Stack) newQueues(sqsURL string) error {
	s.sqs = sqs.New(sqs.Config{BaseURL: sqsURL, AccountID: localAccount, Region: s.env.Get("AWS_REGION")})
	var err error
	if s.dlqURL, err = s.sqs.CreateQueue(DLQName, nil); err != nil {
		return fmt.Errorf("local SQS: creating %s: %w", DLQName, err)
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, s.sqs.ARN(DLQName), s.cfg.MaxReceives)
	s.queueURL, err = s.sqs.CreateQueue(QueueName, map[string]string{
		"VisibilityTimeout": fmt.Sprint(int(s.cfg.VisibilityTimeout / time.Second)),
		"RedrivePolicy":     redrive,
	})
	if err != nil {
		return fmt.Errorf("local SQS: creating %s: %w", QueueName, err)
	}
	return nil
}

// newSQSClient is an aws-sdk-go-v2 SQS client for the local endpoint, built
// as an app under development would build it.
func newSQSClient(endpoint string) *awssqs.Client {
	return awssqs.New(awssqs.Options{
		Region:       localRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// newFunctionsSQSClient is the SQS client the functions send with in AWS
// (sqsbatch's, over awsjson), for the local endpoint.
func newFunctionsSQSClient(endpoint string) sqsAPI {
	c, err := sqsbatch.NewClient(aws.Config{
		Region:       localRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	if err != nil {
		// The endpoint is the stack's own listener address.
		panic(err)
	}
	return c
}

// URLs are where the stack listens.
type URLs struct {
	HTTP   string // the functions, the page, /dev
	Server string // the embedded server, http://host:port
	SQS    string // the local SQS endpoint
	Queue  string // the broadcast queue's URL
	DLQ    string // its dead-letter queue's URL
}

// URLs returns the stack's addresses, ports resolved.
func (s *Stack) URLs() URLs {
	return URLs{
		HTTP:   "http://" + s.httpL.Addr().String(),
		Server: "http://" + s.serverL.Addr().String(),
		SQS:    "http://" + s.sqsL.Addr().String(),
		Queue:  s.queueURL,
		DLQ:    s.dlqURL,
	}
}

// Env returns the value of a variable as the functions see it.
func (s *Stack) Env(key string) string { return s.env.Get(key) }

// DLQ returns the messages in the dead-letter queue, without receiving them.
func (s *Stack) DLQ() []sqs.Message { return s.sqs.Messages(DLQName) }

// Run prints the banner, serves until ctx ends, then shuts down: the
// poller and the HTTP functions first (in-flight requests and the current
// batch finish), then the embedded server, which closes its WebSockets with
// 4200. Everything is bounded by ShutdownTimeout. Run may be called once.
func (s *Stack) Run(ctx context.Context) error {
	err := errors.New("stack: Run called twice")
	s.runOnce.Do(func() { err = s.run(ctx) })
	return err
}

func (s *Stack) run(ctx context.Context) error {
	defer s.endLife()
	s.printBanner(s.cfg.Out)

	serverCtx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	serverDone := make(chan error, 1)
	go func() { serverDone <- s.server.Serve(serverCtx, s.serverL) }()

	fnSrv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	sqsSrv := &http.Server{Handler: s.sqs, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	failed := make(chan error, 2)
	go func() { failed <- serveHTTP("HTTP functions", fnSrv, s.httpL) }()
	go func() { failed <- serveHTTP("local SQS", sqsSrv, s.sqsL) }()

	pollCtx, stopPoll := context.WithCancel(context.Background())
	defer stopPoll()
	pollDone := make(chan struct{})
	go func() { defer close(pollDone); s.poller.run(pollCtx) }()

	var runErr error
	serverStopped := false
	select {
	case <-ctx.Done():
	case runErr = <-failed:
	case runErr = <-serverDone:
		serverStopped = true
	}
	s.log.Info("shutting down")

	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	stopPoll()
	var errs []error
	select {
	case <-pollDone:
	case <-sctx.Done():
		errs = append(errs, errors.New("queue poller did not stop in time"))
	}
	if err := fnSrv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("HTTP functions: %w", err))
	}
	if err := sqsSrv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("local SQS: %w", err))
	}
	stopServer()
	if !serverStopped {
		select {
		case err := <-serverDone:
			if err != nil {
				errs = append(errs, err)
			}
		case <-sctx.Done():
			s.server.Close()
			errs = append(errs, errors.New("embedded server did not stop in time"))
		}
	}
	if runErr != nil {
		errs = append([]error{runErr}, errs...)
	}
	return errors.Join(errs...)
}

func serveHTTP(what string, hs *http.Server, l net.Listener) error {
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil // Shutdown was called: run is already past its select
	}
	return fmt.Errorf("%s: %w", what, err)
}
