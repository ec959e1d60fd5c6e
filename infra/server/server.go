package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/heraldrt/herald/shared/protocol"
)

// Server serves the Pusher WebSocket protocol, the Pusher HTTP API and,
// when configured, Ably's REST publish API, from one http.Handler.
type Server struct {
	cfg   Config
	log   *slog.Logger
	byKey map[string]*hub
	byID  map[string]*hub
	ably  *ablyEndpoint // nil unless Config.Ably is set
	mux   *http.ServeMux

	ctx    context.Context // ends when the server shuts down
	cancel context.CancelFunc

	mu       sync.Mutex
	closing  bool
	conns    sync.WaitGroup // one per WebSocket connection being served
	shutdown sync.Once
}

// New builds a Server from cfg after validating it.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		byKey: map[string]*hub{},
		byID:  map[string]*hub{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, a := range cfg.apps() {
		h := newHub(a, &s.cfg, s.log)
		s.byKey[a.Key] = h
		s.byID[a.ID] = h
	}
	if cfg.Ably != nil {
		app, _ := cfg.Ably.app() // Validate checked it
		s.ably = newAblyEndpoint(s, s.byID[app.ID], app.Key, app.Secret)
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /app/{key}", s.serveWebSocket)
	m.HandleFunc("POST /apps/{app}/events", s.pusherAPI(s.triggerEvents))
	m.HandleFunc("POST /apps/{app}/batch_events", s.pusherAPI(s.triggerBatch))
	m.HandleFunc("GET /apps/{app}/channels", s.pusherAPI(s.listChannels))
	m.HandleFunc("GET /apps/{app}/channels/{channel}", s.pusherAPI(s.showChannel))
	m.HandleFunc("GET /apps/{app}/channels/{channel}/users", s.pusherAPI(s.channelUsers))
	m.HandleFunc("POST /apps/{app}/users/{user}/terminate_connections", s.pusherAPI(s.terminateUser))
	if s.ably != nil {
		m.HandleFunc("POST /channels/{channel}/messages", s.ably.publish)
		m.HandleFunc("POST /messages", s.ably.batchPublish)
		m.HandleFunc("GET /time", s.ably.time)
		m.HandleFunc("GET /channels", s.ably.listChannels)
		m.HandleFunc("GET /channels/{channel}", s.ably.channelDetails)
		m.HandleFunc("GET /channels/{channel}/presence", s.ably.presence)
	}
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "OK")
	})
	s.mux = m
}

// Handler returns the server's HTTP handler: WebSocket connections under
// /app/{key}, the Pusher HTTP API under /apps/{id}, Ably's REST API under
// /channels (publish, status and occupancy, enumeration, presence),
// /messages and /time.
func (s *Server) Handler() http.Handler { return s.mux }

// Serve serves HTTP and WebSocket connections on l until ctx ends, then
// shuts down gracefully: it stops accepting, closes every WebSocket with
// 4200 (pusher-js reconnects at once, to the next server) and waits up to
// ten seconds for them to finish. It returns nil after a shutdown that ctx
// started.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	s.log.Info("serving", "addr", l.Addr().String())
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("server: serving on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Stop accepting first; Shutdown does not wait for WebSockets (they
	// are hijacked), Drain does.
	herr := hs.Shutdown(sctx)
	derr := s.Drain(sctx)
	<-errc
	if err := errors.Join(herr, derr); err != nil {
		return fmt.Errorf("server: shutting down: %w", err)
	}
	return nil
}

// track counts a new WebSocket connection unless the server is closing.
func (s *Server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns.Add(1)
	return true
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Drain refuses new WebSocket connections, closes the open ones with 4200
// and waits until they are gone or ctx ends; then it aborts what is left.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	for _, h := range s.byID {
		h.closeAll(CodeReconnect, "Server is shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return fmt.Errorf("connections did not close in time, aborted: %w", ctx.Err())
	}
}

// Close aborts every connection at once and waits for their goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	s.conns.Wait()
}

// Connections counts open WebSocket connections across apps.
func (s *Server) Connections() int {
	n := 0
	for _, h := range s.byID {
		n += h.connections()
	}
	return n
}

// Channel describes a channel of an app; false when the app is unknown.
// An unoccupied channel has zero counts.
func (s *Server) Channel(appID, name string) (ChannelInfo, bool) {
	h := s.byID[appID]
	if h == nil {
		return ChannelInfo{}, false
	}
	return h.channelInfo(name), true
}

// Trigger delivers an event to channels of an app as the HTTP API does,
// skipping the connection with socket id exceptSocketID; for code that
// embeds the server and has no reason to sign a request to itself.
func (s *Server) Trigger(appID string, channels []string, event, data, exceptSocketID string) error {
	h := s.byID[appID]
	if h == nil {
		return fmt.Errorf("server: trigger: unknown app id %q", appID)
	}
	for _, name := range channels {
		if err := protocol.ValidateChannel(name); err != nil {
			return fmt.Errorf("server: trigger: %w", err)
		}
	}
	for _, name := range channels {
		h.publish(name, event, data, exceptSocketID)
	}
	return nil
}
