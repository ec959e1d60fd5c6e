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

	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/server"
)

// ShutdownTimeout bounds a graceful shutdown: what is still running after
// it is aborted.
const ShutdownTimeout = 10 * time.Second

// setupTimeout bounds creating the resources in moto and reading the
// secret.
const setupTimeout = 60 * time.Second

// Stack is herald running on one machine. New opens its listeners, starts
// moto and creates the resources; Run serves until its context ends.
type Stack struct {
	cfg Config
	log *slog.Logger
	env *env

	httpL, serverL net.Listener

	moto    *moto.Server
	ownMoto bool    // started by the stack, stopped with it
	aws     clients // the stack's own, as an app would reach moto
	res     resources
	server  *server.Server
	fns     Functions
	poller  *sqsPoller
	streams []*streamPoller
	users   users
	mux     *http.ServeMux

	// life bounds what the functions run in the background (JWKS
	// refreshes); it ends when Run returns.
	life    context.Context
	endLife context.CancelFunc

	runOnce sync.Once
}

// New validates cfg, opens the listeners, starts moto with template.yaml's
// resources, and builds the embedded server and every function from the
// environment. Close releases all of it when Run is not called.
func New(cfg Config) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Stack{cfg: cfg, log: cfg.Logger}
	s.life, s.endLife = context.WithCancel(context.Background())
	if err := s.setup(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) setup() error {
	cfg := s.cfg
	var err error
	if s.httpL, err = listen("HTTP functions", "-http", cfg.HTTPAddr); err != nil {
		return err
	}
	if s.serverL, err = listen("embedded server", "-server", cfg.ServerAddr); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(s.life, setupTimeout)
	defer cancel()
	if s.moto = cfg.AWS; s.moto != nil {
		if err := s.moto.Reset(ctx); err != nil {
			return fmt.Errorf("local AWS: %w", err)
		}
	} else if s.moto, err = moto.Start(s.life, moto.Config{Addr: cfg.AWSAddr, Python: cfg.Python, Log: cfg.AWSLog}); err != nil {
		if errors.Is(err, moto.ErrNotInstalled) {
			return err
		}
		return fmt.Errorf("local AWS (moto) on %s: %w (is another `make dev` running? pick another address with -aws)", cfg.AWSAddr, err)
	} else {
		s.ownMoto = true
	}
	s.aws = newClients(s.AWSConfig())
	if s.res, err = create(ctx, s.aws, cfg.VisibilityTimeout); err != nil {
		return fmt.Errorf("local AWS: %w", err)
	}
	s.users = users{c: s.aws.ddb}
	s.env = newEnv(cfg.Lookup, s.httpL.Addr().String(), s.serverL.Addr().String(), s.moto.Endpoint, s.res)
	if err = s.env.loadSecret(ctx); err != nil {
		return err
	}
	if s.server, err = s.newServer(); err != nil {
		return err
	}
	if s.fns, err = buildFunctions(s.life, s.env, s.log); err != nil {
		return fmt.Errorf("building the functions: %w", err)
	}
	s.poller = &sqsPoller{
		client:   s.aws.sqs,
		queueURL: s.res.QueueURL,
		queueARN: s.res.QueueARN,
		region:   moto.Region,
		mapping:  cfg.SQS,
		handle:   s.fns.Queue,
		log:      s.log.With("component", "sqs-poller"),
	}
	for _, t := range tables {
		if !t.stream {
			continue
		}
		p := &streamPoller{
			streams:     s.aws.streams,
			sqs:         s.aws.sqs,
			table:       t.name,
			streamARN:   s.res.Streams[t.name],
			startAt:     t.startAt,
			mapping:     cfg.Stream,
			dlqURL:      s.res.DLQURL,
			functionARN: functionARN("StreamFunction"),
			handle:      s.fns.Stream,
			log:         s.log.With("component", "stream-poller", "table", t.name),
		}
		if err := p.open(ctx); err != nil {
			return fmt.Errorf("local AWS: %w", err)
		}
		s.streams = append(s.streams, p)
	}
	s.routes()
	return nil
}

// functionARN is a function's ARN in moto's account.
func functionARN(logicalID string) string {
	return "arn:aws:lambda:" + moto.Region + ":" + moto.AccountID + ":function:" + logicalID
}

func listen(what, flag, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listening on %s: %w (is another `make dev` running? pick another address with %s)", what, addr, err, flag)
	}
	return l, nil
}

// Close releases what New acquired (listeners, the moto it started). Run
// does it itself.
func (s *Stack) Close() {
	s.endLife()
	s.fns.obs.close()
	for _, l := range []net.Listener{s.httpL, s.serverL} {
		if l != nil {
			l.Close()
		}
	}
	if s.ownMoto {
		s.moto.Stop()
	}
}

// newServer serves the Pusher app of PUSHER_APP_* and the Ably app of
// ABLY_KEY, whichever driver is selected, so switching drivers needs no
// other change; with BROADCAST_CONNECTION=reverb, also the app of
// REVERB_APP_*.
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
	if id := s.env.Get("REVERB_APP_ID"); id != "" && id != cfg.Apps[0].ID && s.env.Get("BROADCAST_CONNECTION") == "reverb" {
		// The app of Laravel's REVERB_* variables, when it is not the
		// Pusher one: the embedded server plays Reverb.
		cfg.Apps = append(cfg.Apps, server.App{ID: id, Key: s.env.Get("REVERB_APP_KEY"), Secret: s.env.Get("REVERB_APP_SECRET")})
	}
	srv, err := server.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	return srv, nil
}

// URLs are where the stack listens.
type URLs struct {
	HTTP   string // the functions, the page, /dev
	Server string // the embedded server, http://host:port
	AWS    string // moto, AWS_ENDPOINT_URL
	Queue  string // the broadcast queue's URL
	DLQ    string // its dead-letter queue's URL
}

// URLs returns the stack's addresses, ports resolved.
func (s *Stack) URLs() URLs {
	return URLs{
		HTTP:   "http://" + s.httpL.Addr().String(),
		Server: "http://" + s.serverL.Addr().String(),
		AWS:    s.moto.Endpoint,
		Queue:  s.res.QueueURL,
		DLQ:    s.res.DLQURL,
	}
}

// Env returns the value of a variable as the functions see it.
func (s *Stack) Env(key string) string { return s.env.Get(key) }

// AWSConfig is an SDK configuration for the stack's moto, as an app
// under development would build it.
func (s *Stack) AWSConfig() aws.Config { return awsConfig(s.moto.Endpoint) }

func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       moto.Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(moto.AccessKeyID, moto.SecretAccessKey, ""),
	}
}

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
	defer s.Close()
	s.printBanner(s.cfg.Out)

	serverCtx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	serverDone := make(chan error, 1)
	go func() { serverDone <- s.server.Serve(serverCtx, s.serverL) }()

	fnSrv := &http.Server{Handler: loopbackOnly(s.mux), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	failed := make(chan error, 1)
	go func() { failed <- serveHTTP("HTTP functions", fnSrv, s.httpL) }()

	pollCtx, stopPoll := context.WithCancel(context.Background())
	defer stopPoll()
	var polling sync.WaitGroup
	polling.Go(func() { s.poller.run(pollCtx) })
	for _, p := range s.streams {
		polling.Go(func() { p.run(pollCtx) })
	}
	pollDone := make(chan struct{})
	go func() { polling.Wait(); close(pollDone) }()

	var runErr error
	serverStopped := false
	select {
	case <-ctx.Done():
	case runErr = <-failed:
	case runErr = <-serverDone:
		serverStopped = true
	case <-s.moto.Done():
		runErr = fmt.Errorf("local AWS (moto on %s) exited", s.moto.Addr)
	}
	s.log.Info("shutting down")

	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	stopPoll()
	var errs []error
	select {
	case <-pollDone:
	case <-sctx.Done():
		errs = append(errs, errors.New("event source pollers did not stop in time"))
	}
	if err := fnSrv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("HTTP functions: %w", err))
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
