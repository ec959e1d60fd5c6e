package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// Ably channel namespaces that Ably's Pusher adapter maps Pusher channels to.
const (
	ablyPublic   = "public:"
	ablyPrivate  = "private:"
	ablyPresence = "presence:"
)

// AblyChannel returns the Ably channel that Ably's Pusher adapter connects
// a pusher-js subscription to: foo -> public:foo, private-foo ->
// private:foo, presence-foo -> presence:foo. private-encrypted- and
// #server-to-user- channels have no counterpart through the adapter.
func AblyChannel(name string) (string, error) {
	switch k := KindOf(name); k {
	case Public:
		return ablyPublic + name, nil
	case Private:
		return ablyPrivate + Base(name), nil
	case Presence:
		return ablyPresence + Base(name), nil
	case PrivateEncrypted:
		return "", fmt.Errorf("%s: private-encrypted- channels cannot be reached through Ably's Pusher adapter", name)
	default:
		return "", fmt.Errorf("%s: %s channels cannot be reached through Ably's Pusher adapter", name, k)
	}
}

// PusherChannel is the inverse of AblyChannel: the valid Pusher channel a
// pusher-js client subscribes to through Ably's adapter to receive what is
// published on the Ably channel. Ably channels no Pusher channel maps to
// ("public:private-x", "private:encrypted-x", names outside the three
// namespaces) report false.
func PusherChannel(ably string) (string, bool) {
	var name string
	if rest, ok := strings.CutPrefix(ably, ablyPublic); ok {
		name = rest
	} else if rest, ok := strings.CutPrefix(ably, ablyPrivate); ok {
		name = PrefixPrivate + rest
	} else if rest, ok := strings.CutPrefix(ably, ablyPresence); ok {
		name = PrefixPresence + rest
	} else {
		return "", false
	}
	if ValidateChannel(name) != nil {
		return "", false
	}
	if back, err := AblyChannel(name); err != nil || back != ably {
		return "", false
	}
	return name, true
}

// AblyKey is an Ably API key, "appId.keyId:secret".
type AblyKey struct {
	// AppID is the Ably app the key belongs to.
	AppID string
	// Name is "appId.keyId": what Ably's Pusher adapter takes as the Pusher
	// app key, and what pusher-js connects with.
	Name string
	// Secret signs requests and subscriptions as the Pusher app secret.
	Secret string
}

// ParseAblyKey splits an Ably API key into its parts. The app id and key id
// may contain neither '.' nor ':', and no part may be empty or contain
// white space. Errors never include the secret.
func ParseAblyKey(key string) (AblyKey, error) {
	name, secret, ok := strings.Cut(key, ":")
	if !ok {
		return AblyKey{}, errors.New(`must have the form appId.keyId:secret (no ":" found)`)
	}
	appID, keyID, ok := strings.Cut(name, ".")
	switch {
	case !ok || !ablyKeyPart(appID) || !ablyKeyPart(keyID):
		return AblyKey{}, errors.New(`must have the form appId.keyId:secret (the part before ":" is not appId.keyId)`)
	case secret == "" || strings.ContainsAny(secret, " \t\r\n\v\f"):
		return AblyKey{}, errors.New(`must have the form appId.keyId:secret (the secret is empty or contains white space)`)
	}
	return AblyKey{AppID: appID, Name: name, Secret: secret}, nil
}

// ablyKeyPart reports whether s can be an app id or key id.
func ablyKeyPart(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".: \t\r\n\v\f")
}

// AblyPrefix returns the Ably channel-name prefix under which Ably's Pusher
// adapter keeps the Pusher channels starting with prefix ("presence-" gives
// "presence:"). It reports false when no one Ably prefix covers them: an
// empty prefix, one that stops inside a kind's prefix ("pri" starts both
// public and private channels), or a kind the adapter cannot carry. Callers
// then list every channel and filter the mapped names.
func AblyPrefix(prefix string) (string, bool) {
	if prefix == "" {
		return "", false
	}
	// private-encrypted- channels never reach Ably, so "private-" covers
	// every private one.
	for _, p := range []string{PrefixPrivate, PrefixPresence, PrefixUser} {
		if len(prefix) < len(p) && strings.HasPrefix(p, prefix) {
			return "", false
		}
	}
	// Any one character completes the prefix into a channel name.
	ch, err := AblyChannel(prefix + "x")
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(ch, "x"), true
}
