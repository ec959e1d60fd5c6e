package signature

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pusher's published example credentials.
const (
	key    = "278d425bdf160c739803"
	secret = "7ad3773142a6692b25b8"
)

func TestKnownAnswers(t *testing.T) {
	cases := []struct {
		name, got, want string
	}{
		{"private", ChannelAuth(key, secret, "1234.1234", "private-foobar", ""),
			key + ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
		{"presence numeric id", ChannelAuth(key, secret, "1234.1234", "presence-foobar", `{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`),
			key + ":afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c"},
		{"presence string id", ChannelAuth(key, secret, "1234.1234", "presence-foobar", `{"user_id":"10","user_info":{"name":"Mr. Pusher"}}`),
			key + ":48dac51d2d7569e1e9c0f48c227d4b26f238fa68e5c0bb04222c966909c4f7c4"},
		{"user", UserAuth(key, secret, "1234.1234", `{"id":"12345"}`),
			key + ":4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"},
		{"webhook", Webhook("secret", []byte(`{"hello":"world"}`)),
			"2677ad3e7c090b2fa2c0fb13020d66d5420879b8316eb356a2d60fb9073bc778"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %s, want %s", c.got, c.want)
			}
		})
	}
}

func TestVerifyAuth(t *testing.T) {
	auth := ChannelAuth(key, secret, "1234.1234", "private-foobar", "")
	if !VerifyAuth(auth, key, secret, ChannelString("1234.1234", "private-foobar", "")) {
		t.Fatal("a correct auth was refused")
	}
	for _, signed := range []string{
		ChannelString("1234.1235", "private-foobar", ""),
		ChannelString("1234.1234", "private-foobaz", ""),
		ChannelString("1234.1234", "private-foobar", "{}"),
	} {
		if VerifyAuth(auth, key, secret, signed) {
			t.Fatalf("auth for private-foobar passed for %q", signed)
		}
	}
	if VerifyAuth(auth, "other", secret, ChannelString("1234.1234", "private-foobar", "")) {
		t.Fatal("auth passed under another key")
	}
}

func TestSharedSecret(t *testing.T) {
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i)
	}
	a := SharedSecret("private-encrypted-a", master)
	if len(a) != 44 {
		t.Fatalf("shared secret %q is not base64 of 32 bytes", a)
	}
	if a == SharedSecret("private-encrypted-b", master) {
		t.Fatal("two channels share a secret")
	}
}

// Pusher's published HTTP API signing example.
func TestSignRequestKnownAnswer(t *testing.T) {
	body := []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	q := SignRequest("POST", "/apps/3/events", nil, body, key, secret, time.Unix(1353088179, 0))
	if got := q.Get("body_md5"); got != "ec365a775a4cd0599faeb73354201b6f" {
		t.Fatalf("body_md5 = %s", got)
	}
	if got := q.Get("auth_signature"); got != "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c" {
		t.Fatalf("auth_signature = %s", got)
	}
}

func TestVerifyRequest(t *testing.T) {
	now := time.Unix(1353088179, 0)
	body := []byte(`{"name":"foo","channels":["project-3"],"data":"{}"}`)
	secrets := func(k string) (string, bool) {
		if k == key {
			return secret, true
		}
		return "", false
	}
	good := func() url.Values {
		return SignRequest("POST", "/apps/3/events", url.Values{"info": {"user_count"}}, body, key, secret, now)
	}
	cases := []struct {
		name   string
		mutate func(q url.Values) (url.Values, []byte, time.Time, string)
		want   error
	}{
		{"good", func(q url.Values) (url.Values, []byte, time.Time, string) { return q, body, now, "/apps/3/events" }, nil},
		{"599s late", func(q url.Values) (url.Values, []byte, time.Time, string) {
			return q, body, now.Add(599 * time.Second), "/apps/3/events"
		}, nil},
		{"stale", func(q url.Values) (url.Values, []byte, time.Time, string) {
			return q, body, now.Add(601 * time.Second), "/apps/3/events"
		}, ErrBadTimestamp},
		{"future", func(q url.Values) (url.Values, []byte, time.Time, string) {
			return q, body, now.Add(-601 * time.Second), "/apps/3/events"
		}, ErrBadTimestamp},
		{"tampered body", func(q url.Values) (url.Values, []byte, time.Time, string) {
			return q, []byte(`{"name":"bar"}`), now, "/apps/3/events"
		}, ErrBodyMD5},
		{"tampered signature", func(q url.Values) (url.Values, []byte, time.Time, string) {
			q.Set("auth_signature", "00"+q.Get("auth_signature")[2:])
			return q, body, now, "/apps/3/events"
		}, ErrBadSignature},
		{"other path", func(q url.Values) (url.Values, []byte, time.Time, string) { return q, body, now, "/apps/4/events" }, ErrBadSignature},
		{"added param", func(q url.Values) (url.Values, []byte, time.Time, string) {
			q.Set("filter_by_prefix", "presence-")
			return q, body, now, "/apps/3/events"
		}, ErrBadSignature},
		{"unknown key", func(q url.Values) (url.Values, []byte, time.Time, string) {
			q.Set("auth_key", "nobody")
			return q, body, now, "/apps/3/events"
		}, ErrUnknownKey},
		{"no signature", func(q url.Values) (url.Values, []byte, time.Time, string) {
			q.Del("auth_signature")
			return q, body, now, "/apps/3/events"
		}, ErrMissingAuth},
		{"no body_md5", func(q url.Values) (url.Values, []byte, time.Time, string) {
			q.Del("body_md5")
			return q, body, now, "/apps/3/events"
		}, ErrMissingAuth},
		{"bad version", func(q url.Values) (url.Values, []byte, time.Time, string) {
			q.Set("auth_version", "2.0")
			return q, body, now, "/apps/3/events"
		}, ErrBadVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, b, at, path := c.mutate(good())
			err := VerifyRequest("POST", path, q, b, secrets, at)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("VerifyRequest = %v, want %v", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatal("error message contains the secret")
			}
		})
	}
}

// A Signer signs as a freshly keyed HMAC does, also
// when many goroutines share it.
func TestSigner(t *testing.T) {
	s := NewSigner(key, secret)
	// Pusher's published example.
	if got, want := s.Channel("1234.1234", "private-foobar", ""), key+":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"; got != want {
		t.Fatalf("private-foobar: %s, want %s", got, want)
	}
	data := []string{"", "a", `{"user_id":"1"}`, "line\nbreak\x00", "é€😀", "\xff\xfe", "key:0123456789abcdef"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				sock, d := fmt.Sprintf("%d.%d", g, i), data[i%len(data)]
				signed := sock + ":presence-x"
				if d != "" {
					signed += ":" + d
				}
				if got, want := s.Channel(sock, "presence-x", d), key+":"+HMAC(secret, signed); got != want {
					errs <- fmt.Errorf("channel %s: %s, want %s", sock, got, want)
					return
				}
				if got, want := s.User(sock, d), key+":"+HMAC(secret, sock+"::user::"+d); got != want {
					errs <- fmt.Errorf("user %s: %s, want %s", sock, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
