package broadcast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestIsTemporary(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"temporary Error", &Error{Provider: "pusher", StatusCode: 503, Temporary: true}, true},
		{"permanent Error", &Error{Provider: "pusher", StatusCode: 413}, false},
		{"the flag, not the cause, decides", &Error{Provider: "pusher", Op: "validate", Err: context.Canceled}, false},
		{"wrapped temporary", fmt.Errorf("queue: %w", &Error{Temporary: true}), true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, true},
		{"dial", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"connection closed without response", io.EOF, true},
		{"response cut short", fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF), true},
		{"plain", errors.New("bad"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsTemporary(c.err); got != c.want {
				t.Fatalf("IsTemporary(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Provider: "ably", Op: "publish", StatusCode: 413, Code: 40009, Err: errors.New("message too large")}
	if got, want := e.Error(), "ably publish: HTTP 413 (code 40009) [permanent]: message too large"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestFailures(t *testing.T) {
	if got := Failures(nil, 3); got[0] != nil || got[1] != nil || got[2] != nil || len(got) != 3 {
		t.Fatalf("Failures(nil) = %v", got)
	}
	all := &Error{Provider: "pusher", StatusCode: 500, Temporary: true}
	for i, err := range Failures(all, 2) {
		if err != all {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	one := &Error{Provider: "pusher", StatusCode: 413}
	be := &BatchError{Errs: []error{nil, one, nil}}
	got := Failures(fmt.Errorf("wrapped: %w", be), 3)
	if got[0] != nil || got[1] != one || got[2] != nil {
		t.Fatalf("Failures(batch) = %v", got)
	}
	if !errors.Is(be, one) {
		t.Fatal("BatchError does not unwrap to its parts")
	}
	if want := "1 of 3 messages failed (0 temporary); first: pusher: HTTP 413 [permanent]"; be.Error() != want {
		t.Fatalf("BatchError = %q, want %q", be.Error(), want)
	}
}

// TestClassificationAtTheBoundary sends one message through each network
// driver into every class of failure, as a provider or the network
// produces it, and checks the one answer both drivers give. Nothing after
// the drivers classifies again.
func TestClassificationAtTheBoundary(t *testing.T) {
	type row struct {
		name string
		// serve answers the request; nil means nothing listens on the port.
		serve func(t *testing.T, w http.ResponseWriter, r *http.Request)
		// ctx, when set, is the caller's context; arrived is closed when a
		// request reaches serve.
		ctx       func(t *testing.T, arrived <-chan struct{}) context.Context
		data      string // default a valid payload
		channel   string // default "orders"
		temporary bool
		status    int     // the Error's StatusCode
		causes    []error // what the Error must wrap, any one of them
	}
	answer := func(status int) func(*testing.T, http.ResponseWriter, *http.Request) {
		return func(_ *testing.T, w http.ResponseWriter, _ *http.Request) {
			// Ably's error shape; Pusher's drivers keep the body as text.
			writeAblyError(w, status, status*100, "answered by test")
		}
	}
	// stall answers nothing until the client gives up; the server notices
	// that only once it has read the whole request.
	stall := func(_ *testing.T, _ http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}
	refuse := func(t *testing.T, w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s %s", r.Method, r.URL)
		writeAblyError(w, http.StatusTeapot, 41800, "should not have been sent")
	}
	var rows []row
	for _, c := range []struct {
		status    int
		temporary bool
	}{
		{400, false}, {401, true}, {403, true}, {404, false}, {408, true}, {413, false},
		{425, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true},
	} {
		rows = append(rows, row{name: "HTTP " + strconv.Itoa(c.status), serve: answer(c.status), temporary: c.temporary, status: c.status})
	}
	rows = append(rows,
		row{name: "request timeout", serve: stall, temporary: true, causes: []error{context.DeadlineExceeded}},
		row{name: "connection refused", temporary: true, causes: []error{syscall.ECONNREFUSED}},
		row{name: "connection reset", temporary: true, causes: []error{syscall.ECONNRESET, io.EOF}, serve: func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.(*net.TCPConn).SetLinger(0) // close with RST, not FIN
			conn.Close()
		}},
		row{name: "context cancelled during the request", serve: stall, temporary: true, causes: []error{context.Canceled},
			ctx: func(t *testing.T, arrived <-chan struct{}) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(cancel)
				go func() {
					<-arrived
					cancel()
				}()
				return ctx
			}},
		row{name: "context cancelled before any request", serve: refuse, temporary: true, causes: []error{context.Canceled},
			ctx: func(*testing.T, <-chan struct{}) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			}},
		row{name: "data over the provider's limit", serve: refuse, data: strings.Repeat("x", 70<<10), status: http.StatusRequestEntityTooLarge},
		row{name: "invalid channel name", serve: refuse, channel: "orders#1"},
	)

	drivers := []struct {
		name string
		new  func(t *testing.T, host string, port int) Driver
	}{
		{"pusher", func(t *testing.T, host string, port int) Driver {
			return newTestPusher(t, PusherConfig{AppID: exampleAppID, Key: exampleKey, Secret: exampleSecret, Host: host, Port: port, Scheme: "http",
				HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
		}},
		{"ably", func(t *testing.T, host string, port int) Driver {
			return newTestAbly(t, AblyConfig{Key: testAblyKey, Host: host, Port: port, Scheme: "http",
				HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
		}},
	}
	for _, r := range rows {
		for _, d := range drivers {
			t.Run(r.name+"/"+d.name, func(t *testing.T) {
				arrived := make(chan struct{})
				var once sync.Once
				host, port := "127.0.0.1", 0
				if r.serve != nil {
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
						once.Do(func() { close(arrived) })
						r.serve(t, w, req)
					}))
					t.Cleanup(srv.Close)
					host, port = hostPort(srv)
				} else {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						t.Fatal(err)
					}
					port = ln.Addr().(*net.TCPAddr).Port
					ln.Close()
				}
				ctx := context.Background()
				if r.ctx != nil {
					ctx = r.ctx(t, arrived)
				}
				m := Message{Name: "OrderShipped", Channels: []string{"orders"}, Data: `{"id":1}`}
				if r.data != "" {
					m.Data = r.data
				}
				if r.channel != "" {
					m.Channels = []string{r.channel}
				}

				err := d.new(t, host, port).Broadcast(ctx, []Message{m})
				f := Failures(err, 1)[0]
				var e *Error
				if !errors.As(f, &e) {
					t.Fatalf("failure %v (%T) is not an *Error", f, f)
				}
				if e.Provider != d.name || e.Temporary != r.temporary || IsTemporary(f) != r.temporary || e.StatusCode != r.status {
					t.Fatalf("%v: provider %q, status %d, temporary %v; want %q, %d, %v", f, e.Provider, e.StatusCode, e.Temporary, d.name, r.status, r.temporary)
				}
				if len(r.causes) > 0 && !slices.ContainsFunc(r.causes, func(c error) bool { return errors.Is(f, c) }) {
					t.Fatalf("%v does not wrap any of %v", f, r.causes)
				}
			})
		}
	}
}
