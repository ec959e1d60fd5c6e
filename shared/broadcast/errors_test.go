package broadcast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
)

func TestTemporaryStatus(t *testing.T) {
	cases := map[int]bool{400: false, 401: false, 403: false, 404: false, 413: false, 408: true, 425: true, 429: true, 500: true, 502: true, 503: true, 504: true}
	for status, want := range cases {
		if got := TemporaryStatus(status); got != want {
			t.Errorf("TemporaryStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestIsTemporary(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"temporary Error", &Error{Provider: "pusher", StatusCode: 503, Temporary: true}, true},
		{"permanent Error", &Error{Provider: "pusher", StatusCode: 413}, false},
		{"wrapped temporary", fmt.Errorf("queue: %w", &Error{Temporary: true}), true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, false},
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
