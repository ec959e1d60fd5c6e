package protocol

import (
	"strings"
	"testing"
)

func TestKindOf(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		base string
	}{
		{"App.Models.User.42", Public, "App.Models.User.42"},
		{"private-App.Models.User.42", Private, "App.Models.User.42"},
		{"presence-chat.1", Presence, "chat.1"},
		{"private-encrypted-inbox.7", PrivateEncrypted, "inbox.7"},
		{"#server-to-user-42", User, "42"},
		{"privately", Public, "privately"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := KindOf(c.name); got != c.kind {
				t.Fatalf("KindOf = %v, want %v", got, c.kind)
			}
			if got := Base(c.name); got != c.base {
				t.Fatalf("Base = %q, want %q", got, c.base)
			}
		})
	}
}

func TestKindStringRoundTrip(t *testing.T) {
	for _, k := range []Kind{Public, Private, Presence, PrivateEncrypted, User} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Fatalf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseKind("secret"); err == nil {
		t.Fatal("ParseKind accepted an unknown kind")
	}
	if !Private.NeedsAuth() || !Presence.NeedsAuth() || !PrivateEncrypted.NeedsAuth() || Public.NeedsAuth() || User.NeedsAuth() {
		t.Fatal("NeedsAuth disagrees with Pusher's rules")
	}
}

func TestValidateChannel(t *testing.T) {
	cases := []struct {
		name string
		err  string
	}{
		{"private-App.Models.User.42", ""},
		{"a_b-c=d@e,f.g;h", ""},
		{"#server-to-user-42", ""},
		{strings.Repeat("a", MaxChannelNameLength), ""},
		{"", "channel name is empty"},
		{strings.Repeat("a", MaxChannelNameLength+1), `"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...": channel name is 165 characters, the limit is 164`},
		{"private-a b", `"private-a b": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`},
		{"private-a:b", `"private-a:b": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`},
		{"chat#1", `"chat#1": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`},
		{"#server-to-user-", `"#server-to-user-": user channel has no user id`},
		{"#server-to-user-4:2", `"#server-to-user-4:2": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`},
		{"private-", `"private-": private channel has no name after its prefix`},
		{"presence-", `"presence-": presence channel has no name after its prefix`},
		{"private-encrypted-", `"private-encrypted-": private-encrypted channel has no name after its prefix`},
		{"private-é", `"private-é": channel names may contain only A-Z a-z 0-9 _ - = @ , . ;`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateChannel(c.name)
			if c.err == "" {
				if err != nil {
					t.Fatalf("ValidateChannel: %v", err)
				}
				return
			}
			if err == nil || err.Error() != c.err {
				t.Fatalf("ValidateChannel error = %v, want %s", err, c.err)
			}
		})
	}
}
