package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The auth load generator speaks HTTP/1.1 over raw keep-alive TCP
// connections, one per request in flight, as wrk does. A general HTTP
// client spends more CPU per request than the handlers it measures, and on
// a two-core machine that CPU is taken from the server under test; this
// one copies a prepared request, overwrites its socket id, writes it, and
// reads the answer by its status line and Content-Length. Answers are kept
// and checked after the timed phase, so checking costs the servers nothing
// but is never skipped.

// socketIDWidth is the length of every generated socket id: two ten-digit
// numbers, so that a request's size does not depend on its index.
const socketIDWidth = 21

// maxAnswerBytes bounds an answer's body; an auth answer is a few hundred
// bytes.
const maxAnswerBytes = 64 << 10

// genSocketID writes request i's socket id into dst[:socketIDWidth].
func genSocketID(dst []byte, i int) {
	if i < 0 || i >= 1e9 {
		panic("socket id index out of range")
	}
	putDigits(dst[:10], 1e9+i)
	dst[10] = '.'
	putDigits(dst[11:21], 2e9+i)
}

// putDigits writes n right-aligned into dst, which must fit it exactly.
func putDigits(dst []byte, n int) {
	for j := len(dst) - 1; j >= 0; j-- {
		dst[j] = byte('0' + n%10)
		n /= 10
	}
}

// socketID is request i's socket id as a string, for checking its answer.
func socketID(i int) string {
	var b [socketIDWidth]byte
	genSocketID(b[:], i)
	return string(b[:])
}

// authTemplate is one prepared request: the whole request with a
// placeholder socket id as its last socketIDWidth bytes.
type authTemplate struct {
	raw  []byte
	user string
	ch   string
}

// authTemplates prepares a request for each of the authUsers users
// subscribing to a channel of kind, each with its own bearer token.
func authTemplates(host, kind string, tokens []string) []authTemplate {
	out := make([]authTemplate, len(tokens))
	for u := range tokens {
		user := strconv.Itoa(u + 1)
		ch := "presence-online"
		if kind == "private" {
			ch = "private-App.Models.User." + user
		}
		// The socket id goes last so that it can be overwritten in place;
		// channel names here need no escaping beyond what form encoding
		// leaves as it is.
		body := "channel_name=" + ch + "&socket_id=" + string(bytes.Repeat([]byte{'0'}, socketIDWidth))
		var b bytes.Buffer
		fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
			"/broadcasting/auth", host, tokens[u], len(body), body)
		out[u] = authTemplate{raw: b.Bytes(), user: user, ch: ch}
	}
	return out
}

// answer is one request's outcome, kept for checking after the phase.
type answer struct {
	latency time.Duration
	body    []byte
}

// genConn is one keep-alive connection and the buffers it reuses.
type genConn struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

// loadGen sends prepared requests to one server over a fixed set of
// connections.
type loadGen struct {
	conns     []*genConn
	templates []authTemplate
}

// newLoadGen opens conc connections to addr.
func newLoadGen(ctx context.Context, addr string, conc int, templates []authTemplate) (*loadGen, error) {
	g := &loadGen{templates: templates}
	var d net.Dialer
	for range conc {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			g.close()
			return nil, err
		}
		g.conns = append(g.conns, &genConn{c: c, br: bufio.NewReaderSize(c, 4096)})
	}
	return g, nil
}

func (g *loadGen) close() {
	for _, c := range g.conns {
		c.c.Close()
	}
}

// template is the prepared request of request i: users in turn.
func (g *loadGen) template(i int) *authTemplate { return &g.templates[i%len(g.templates)] }

// phase sends count requests, numbered first to first+count-1, with one
// worker per connection, and returns each one's latency and body. It stops
// at the first failure: a transport error or a status other than 200.
func (g *loadGen) phase(ctx context.Context, first, count int) ([]answer, error) {
	out := make([]answer, count)
	deadline := time.Now().Add(max(time.Minute, time.Duration(count)*10*time.Millisecond))
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for _, c := range g.conns {
		c.c.SetDeadline(deadline)
	}
	// Cancelling ctx unblocks every read and write at once.
	stopAfter := context.AfterFunc(ctx, func() {
		for _, c := range g.conns {
			c.c.SetDeadline(time.Unix(1, 0))
		}
	})
	defer stopAfter()

	var next atomic.Int64
	var failed atomic.Bool
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for _, c := range g.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				k := int(next.Add(1) - 1)
				if k >= count {
					return
				}
				i := first + k
				t := g.template(i)
				c.req = append(c.req[:0], t.raw...)
				genSocketID(c.req[len(c.req)-socketIDWidth:], i)
				t0 := time.Now()
				status, body, err := c.roundTrip()
				d := time.Since(t0)
				if err == nil && status != 200 {
					err = fmt.Errorf("auth for %s: HTTP %d: %s", t.ch, status, body)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
				out[k] = answer{latency: d, body: body}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return out, firstErr
}

// check verifies every answer of a phase that began at request first.
func (g *loadGen) check(first int, answers []answer) error {
	for k, a := range answers {
		i := first + k
		t := g.template(i)
		if err := checkAuthAnswer(a.body, socketID(i), t.ch, t.user); err != nil {
			return err
		}
	}
	return nil
}

// roundTrip writes c.req and reads one answer. The body is a fresh slice
// the caller may keep.
func (c *genConn) roundTrip() (status int, body []byte, err error) {
	if _, err := c.c.Write(c.req); err != nil {
		return 0, nil, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, fmt.Errorf("reading the status line: %w", err)
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, fmt.Errorf("malformed status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, fmt.Errorf("reading headers: %w", err)
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, fmt.Errorf("malformed header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || n > maxAnswerBytes {
				return 0, nil, fmt.Errorf("unusable Content-Length %q", value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return 0, nil, fmt.Errorf("unsupported Transfer-Encoding %q", value)
			}
			chunked = true
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			closing = true
		}
	}
	switch {
	case chunked:
		// node:http sends a body it has not measured in chunks.
		if body, err = c.readChunked(); err != nil {
			return 0, nil, err
		}
	case length >= 0:
		body = make([]byte, length)
		if _, err := io.ReadFull(c.br, body); err != nil {
			return 0, nil, fmt.Errorf("reading the body: %w", err)
		}
	default:
		return 0, nil, errors.New("answer with neither Content-Length nor chunked encoding")
	}
	if closing && status == 200 {
		// The next request would fail without saying why.
		return 0, nil, errors.New("server closes keep-alive connections after a successful answer")
	}
	return status, body, nil
}

// readChunked reads a chunked body (RFC 9112 7.1) and its trailer section.
func (c *genConn) readChunked() ([]byte, error) {
	var body []byte
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("reading a chunk size: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || len(body)+int(n) > maxAnswerBytes {
			return nil, fmt.Errorf("unusable chunk size %q", line)
		}
		if n == 0 {
			break
		}
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(c.br, body[len(body)-int(n):]); err != nil {
			return nil, fmt.Errorf("reading a chunk: %w", err)
		}
		if crlf, err := c.br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return nil, fmt.Errorf("chunk not followed by CRLF")
		}
	}
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("reading the trailer: %w", err)
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return body, nil
		}
	}
}
