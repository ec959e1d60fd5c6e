package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// conn is one WebSocket connection. Two goroutines serve it: the handler's,
// which reads and dispatches frames, and writeLoop, which owns every write
// and the idle timer. Everything else talks to it through enqueue and close,
// neither of which blocks.
type conn struct {
	srv      *Server
	hub      *hub
	ws       *websocket.Conn // nil in tests that drive dispatch directly
	socketID string
	log      *slog.Logger

	send chan []byte   // bounded: a full queue disconnects the client
	done chan struct{} // closed by close; the writer then says goodbye

	closeOnce   sync.Once
	closeCode   int
	closeReason string
	cancel      context.CancelFunc // aborts a write stuck on a slow client

	lastSeen atomic.Int64 // unix nanoseconds of the last frame read

	limiter rateLimiter // client events; used by the reader goroutine only

	// Guarded by hub.mu.
	channels map[string]string // subscribed channel -> presence user id ("" elsewhere)
	userID   string            // signed-in user, "" before pusher:signin
}

func newConn(srv *Server, h *hub, ws *websocket.Conn, socketID string, cancel context.CancelFunc) *conn {
	c := &conn{
		srv:      srv,
		hub:      h,
		ws:       ws,
		socketID: socketID,
		log:      h.log.With("socket_id", socketID),
		send:     make(chan []byte, srv.cfg.SendQueue),
		done:     make(chan struct{}),
		cancel:   cancel,
		channels: map[string]string{},
		limiter:  newRateLimiter(srv.cfg.ClientEventsPerSecond),
	}
	c.lastSeen.Store(time.Now().UnixNano())
	return c
}

// enqueue queues a frame without blocking. A full queue means the client
// reads slower than events arrive: it is disconnected (pusher-js reconnects
// with backoff and resubscribes) instead of holding up the sender or
// buffering without bound.
func (c *conn) enqueue(frame []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.send <- frame:
		return true
	default:
		c.log.Warn("send queue full, disconnecting slow client", "queue", cap(c.send))
		c.abort(CodeOverCapacity, "client too slow")
		return false
	}
}

// close asks the writer to send a close frame with code and finish; it
// never blocks and only the first call counts.
func (c *conn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason = code, reason
		close(c.done)
	})
}

// abort closes without waiting for a write in progress.
func (c *conn) abort(code int, reason string) {
	c.close(code, reason)
	if c.cancel != nil {
		c.cancel()
	}
}

// closeWith sends an error frame and then closes with its code, the way
// Pusher refuses: pusher:error first, so the client can tell why.
func (c *conn) closeWith(code int, message string) {
	c.enqueue(errorFrame(code, message))
	c.close(code, message)
}

// writeLoop writes queued frames and keeps the connection alive: after
// ActivityTimeout without a frame from the client it sends pusher:ping, and
// if nothing arrives within PongTimeout it closes with 4201.
func (c *conn) writeLoop(ctx context.Context) {
	cfg := &c.srv.cfg
	timer := time.NewTimer(cfg.ActivityTimeout)
	defer timer.Stop()
	var pingedAt int64 // unix nanoseconds of the ping awaiting an answer; 0 when none
	for {
		select {
		case frame := <-c.send:
			if err := c.write(ctx, frame); err != nil {
				c.abort(CodeReconnect, "write failed")
			}
		case <-timer.C:
			now := time.Now().UnixNano()
			last := c.lastSeen.Load()
			if pingedAt != 0 && last < pingedAt {
				// Still waiting for an answer to the ping.
				if waited := time.Duration(now - pingedAt); waited < cfg.PongTimeout {
					timer.Reset(min(cfg.PongTimeout-waited, cfg.ActivityTimeout))
					continue
				}
				c.log.Info("closing connection that did not answer ping")
				c.close(CodePongNotReceived, "Pong reply not received")
				timer.Reset(cfg.PongTimeout)
				continue
			}
			pingedAt = 0
			if idle := time.Duration(now - last); idle < cfg.ActivityTimeout {
				timer.Reset(cfg.ActivityTimeout - idle)
				continue
			}
			pingedAt = now
			c.enqueue(encodeFrame(outFrame{Event: evPing, Data: struct{}{}}))
			// Check again within ActivityTimeout even when PongTimeout is
			// longer, so an answered ping does not delay the next one.
			timer.Reset(min(cfg.PongTimeout, cfg.ActivityTimeout))
		case <-c.done:
			c.finish(ctx)
			return
		}
	}
}

// finish flushes what is already queued (an error frame explaining the
// close, typically), then closes the WebSocket with the recorded code.
func (c *conn) finish(ctx context.Context) {
	if ctx.Err() == nil {
	flush:
		for {
			select {
			case frame := <-c.send:
				if c.write(ctx, frame) != nil {
					break flush
				}
			default:
				break flush
			}
		}
	}
	if ctx.Err() != nil {
		c.ws.CloseNow()
		return
	}
	// Close waits up to five seconds for the client's close frame; the
	// reader goroutine receives it.
	c.ws.Close(websocket.StatusCode(c.closeCode), closeReason(c.closeReason))
}

// closeReason fits a reason into a close frame, which allows 123 bytes.
func closeReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func (c *conn) write(ctx context.Context, frame []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.srv.cfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// rateLimiter is a token bucket: perSecond tokens a second, bursts of
// perSecond.
type rateLimiter struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond int) rateLimiter {
	return rateLimiter{rate: float64(perSecond), tokens: float64(perSecond)}
}

func (r *rateLimiter) allow(now time.Time) bool {
	if !r.last.IsZero() {
		r.tokens += now.Sub(r.last).Seconds() * r.rate
		if r.tokens > r.rate {
			r.tokens = r.rate
		}
	}
	r.last = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
