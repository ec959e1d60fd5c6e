package protocol

import (
	"strings"
	"testing"
)

func TestAblyChannel(t *testing.T) {
	cases := []struct{ pusher, ably, err string }{
		{"foo", "public:foo", ""},
		{"orders.42", "public:orders.42", ""},
		{"private-App.Models.User.42", "private:App.Models.User.42", ""},
		{"presence-chat.1", "presence:chat.1", ""},
		{"private-encrypted-secret", "", "private-encrypted- channels cannot be reached"},
		{"#server-to-user-42", "", "user channels cannot be reached"},
	}
	for _, c := range cases {
		t.Run(c.pusher, func(t *testing.T) {
			got, err := AblyChannel(c.pusher)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || got != "" {
					t.Fatalf("AblyChannel = %q, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.ably {
				t.Fatalf("AblyChannel = %q, %v; want %q", got, err, c.ably)
			}
			back, ok := PusherChannel(got)
			if !ok || back != c.pusher {
				t.Fatalf("PusherChannel(%q) = %q, %v; want %q back", got, back, ok, c.pusher)
			}
		})
	}
}

func TestPusherChannel(t *testing.T) {
	cases := []struct{ ably, pusher string }{
		{"public:foo", "foo"},
		{"private:foo", "private-foo"},
		{"presence:foo", "presence-foo"},
		{"public:" + strings.Repeat("a", MaxChannelNameLength), strings.Repeat("a", MaxChannelNameLength)},
		// No Pusher channel maps to these through the adapter.
		{"foo", ""},
		{"public:", ""},
		{"private:", ""},
		{"presence:", ""},
		{"private:encrypted-foo", ""},
		{"public:private-foo", ""},
		{"public:presence-foo", ""},
		{"public:#server-to-user-42", ""},
		{"public:a b", ""},
		{"public:" + strings.Repeat("a", MaxChannelNameLength+1), ""},
		{"[meta]channel.lifecycle", ""},
	}
	for _, c := range cases {
		t.Run(c.ably, func(t *testing.T) {
			got, ok := PusherChannel(c.ably)
			if got != c.pusher || ok != (c.pusher != "") {
				t.Fatalf("PusherChannel = %q, %v; want %q", got, ok, c.pusher)
			}
			if !ok {
				return
			}
			back, err := AblyChannel(got)
			if err != nil || back != c.ably {
				t.Fatalf("AblyChannel(%q) = %q, %v; want %q back", got, back, err, c.ably)
			}
		})
	}
}

func TestParseAblyKey(t *testing.T) {
	const secret = "s3cr3t"
	cases := []struct {
		key  string
		want AblyKey
		err  string
	}{
		{"app.key:" + secret, AblyKey{AppID: "app", Name: "app.key", Secret: secret}, ""},
		{"xVLyHw.DGYdkQ:FtPU/O8+a:b=", AblyKey{AppID: "xVLyHw", Name: "xVLyHw.DGYdkQ", Secret: "FtPU/O8+a:b="}, ""},
		{"", AblyKey{}, `no ":" found`},
		{"app.key", AblyKey{}, `no ":" found`},
		{":" + secret, AblyKey{}, "is not appId.keyId"},
		{"app:" + secret, AblyKey{}, "is not appId.keyId"},
		{".key:" + secret, AblyKey{}, "is not appId.keyId"},
		{"app.:" + secret, AblyKey{}, "is not appId.keyId"},
		{"app.key.x:" + secret, AblyKey{}, "is not appId.keyId"},
		{"a pp.key:" + secret, AblyKey{}, "is not appId.keyId"},
		{"app.key:", AblyKey{}, "secret is empty"},
		{"app.key:" + secret + " ", AblyKey{}, "white space"},
		{"app.key:" + secret + "\n", AblyKey{}, "white space"},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			got, err := ParseAblyKey(c.key)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("ParseAblyKey = %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("ParseAblyKey error = %v, want one containing %q", err, c.err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q reveals the secret", err)
			}
			if got != (AblyKey{}) {
				t.Fatalf("ParseAblyKey returned %+v with its error", got)
			}
		})
	}
}

func TestAblyPrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"presence-", "presence:", true},
		{"presence-chat.", "presence:chat.", true},
		{"private-", "private:", true},
		{"news", "public:news", true},
		{"", "", false},
		{"pri", "", false},
		{"private-encrypted", "private:encrypted", true},
		{"private-encrypted-", "", false},
		{"#server-to-user-", "", false},
	} {
		got, ok := AblyPrefix(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AblyPrefix(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
