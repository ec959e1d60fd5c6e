package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The load generator reads whole answers of either framing, keeps
// requests apart on one connection, and gives every request its own socket
// id in a body whose Content-Length stays right.
func TestLoadGenRoundTrip(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		if strings.Contains(string(b), "presence-") {
			// Flushing before the end makes net/http send chunks.
			w.Write([]byte(`{"auth":`))
			w.(http.Flusher).Flush()
			w.Header().Set("Trailer-Test", "x")
			w.Write([]byte(`"x"}`))
			return
		}
		if r.Header.Get("Authorization") == "Bearer refused" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"auth":"y"}`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, kind := range []string{"private", "presence"} {
		g, err := newLoadGen(ctx, addr, 1, authTemplates(addr, kind, []string{"a", "b"}))
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got = nil
		mu.Unlock()
		answers, err := g.phase(ctx, 7, 3)
		g.close()
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		want := `{"auth":"y"}`
		ch := "private-App.Models.User."
		if kind == "presence" {
			want, ch = `{"auth":"x"}`, "presence-online"
		}
		for k, a := range answers {
			if string(a.body) != want || a.latency <= 0 {
				t.Errorf("%s answer %d: %q after %v", kind, k, a.body, a.latency)
			}
		}
		mu.Lock()
		seen := got
		mu.Unlock()
		if len(seen) != 3 {
			t.Fatalf("%s: server saw %d requests, want 3", kind, len(seen))
		}
		for k, r := range seen {
			i := 7 + k
			tok, user := "Bearer b", "2"
			if i%2 == 0 {
				tok, user = "Bearer a", "1"
			}
			c := ch
			if kind == "private" {
				c += user
			}
			if w := tok + " channel_name=" + c + "&socket_id=" + socketID(i); r != w {
				t.Errorf("%s request %d: %q, want %q", kind, i, r, w)
			}
		}
	}

	g, err := newLoadGen(ctx, addr, 2, authTemplates(addr, "private", []string{"refused"}))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	if _, err := g.phase(ctx, 0, 4); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("refused request: %v, want HTTP 401", err)
	}
}

func TestSocketID(t *testing.T) {
	for _, tt := range []struct {
		i    int
		want string
	}{{0, "1000000000.2000000000"}, {42, "1000000042.2000000042"}, {999999999, "1999999999.2999999999"}} {
		if got := socketID(tt.i); got != tt.want || len(got) != socketIDWidth {
			t.Errorf("socketID(%d) = %q, want %q", tt.i, got, tt.want)
		}
	}
}
