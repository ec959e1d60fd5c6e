package protocol

import (
	"fmt"
	"strings"
)

// Kind is what a channel's prefix makes it.
type Kind int

const (
	// Public channels need no authorization.
	Public Kind = iota
	// Private channels ("private-") need a signed subscription.
	Private
	// Presence channels ("presence-") need a signed subscription with member data.
	Presence
	// PrivateEncrypted channels ("private-encrypted-") carry end-to-end encrypted data.
	PrivateEncrypted
	// User channels ("#server-to-user-{id}") reach the connections of one signed-in user.
	User
)

// Channel name prefixes as Pusher defines them. PrefixPrivateEncrypted must be
// tested before PrefixPrivate, which it extends.
const (
	PrefixPrivate          = "private-"
	PrefixPresence         = "presence-"
	PrefixPrivateEncrypted = "private-encrypted-"
	PrefixUser             = "#server-to-user-"
)

// KindOf returns the kind of a channel by its prefix.
func KindOf(name string) Kind {
	switch {
	case strings.HasPrefix(name, PrefixPrivateEncrypted):
		return PrivateEncrypted
	case strings.HasPrefix(name, PrefixPrivate):
		return Private
	case strings.HasPrefix(name, PrefixPresence):
		return Presence
	case strings.HasPrefix(name, PrefixUser):
		return User
	default:
		return Public
	}
}

// String names the kind as herald's rules and messages spell it.
func (k Kind) String() string {
	switch k {
	case Public:
		return "public"
	case Private:
		return "private"
	case Presence:
		return "presence"
	case PrivateEncrypted:
		return "private-encrypted"
	case User:
		return "user"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for _, k := range []Kind{Public, Private, Presence, PrivateEncrypted, User} {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown channel kind %q (want public, private, presence, private-encrypted or user)", s)
}

// NeedsAuth reports whether subscribing requires a signature.
func (k Kind) NeedsAuth() bool { return k == Private || k == Presence || k == PrivateEncrypted }

// Prefix returns the prefix that makes a name of this kind.
func (k Kind) Prefix() string {
	switch k {
	case Private:
		return PrefixPrivate
	case Presence:
		return PrefixPresence
	case PrivateEncrypted:
		return PrefixPrivateEncrypted
	case User:
		return PrefixUser
	}
	return ""
}

// Base strips the kind's prefix: "private-App.Models.User.42" gives
// "App.Models.User.42", the name Laravel's channel routes are written against.
func Base(name string) string {
	return strings.TrimPrefix(name, KindOf(name).Prefix())
}

// UserChannel returns the "#server-to-user-{id}" channel of a user.
func UserChannel(userID string) string { return PrefixUser + userID }

// allowed reports whether c may appear in a channel name. Pusher allows
// A-Z a-z 0-9 _ - = @ , . ; and nothing else; ':' in particular never, which
// is what keeps "socket_id:channel_name" signatures unambiguous.
func allowed(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '_', '-', '=', '@', ',', '.', ';':
		return true
	}
	return false
}

// ChannelCharsetMessage is the sentence every invalid-character error carries.
const ChannelCharsetMessage = "channel names may contain only A-Z a-z 0-9 _ - = @ , . ;"

// ValidateChannel checks a channel name against Pusher's rules and says what is
// wrong in words a developer can act on. User channels ("#server-to-user-")
// are valid only with a non-empty user id of allowed characters.
func ValidateChannel(name string) error {
	if name == "" {
		return fmt.Errorf("channel name is empty")
	}
	if len(name) > MaxChannelNameLength {
		return fmt.Errorf("%q: channel name is %d characters, the limit is %d", Abbreviate(name), len(name), MaxChannelNameLength)
	}
	rest := name
	if strings.HasPrefix(name, PrefixUser) {
		rest = name[len(PrefixUser):]
		if rest == "" {
			return fmt.Errorf("%q: user channel has no user id", name)
		}
	}
	for i := 0; i < len(rest); i++ {
		if !allowed(rest[i]) {
			return fmt.Errorf("%q: %s", name, ChannelCharsetMessage)
		}
	}
	switch k := KindOf(name); k {
	case Private, Presence, PrivateEncrypted:
		if len(name) == len(k.Prefix()) {
			return fmt.Errorf("%q: %s channel has no name after its prefix", name, k)
		}
	}
	return nil
}

// Abbreviate keeps a value echoed in an error short; %q takes care of
// control bytes.
func Abbreviate(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:37] + "..."
}
