package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"strings"
)

// HMAC returns the lowercase hex HMAC-SHA256 of msg under secret.
func HMAC(secret, msg string) string {
	h := newMAC(secret)
	io.WriteString(h, msg)
	return hex.EncodeToString(h.Sum(nil))
}

// Equal compares two signatures in constant time.
func Equal(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// ChannelString is the string Pusher signs for a subscription:
// "socket_id:channel_name", with ":channel_data" for presence channels.
// Callers must have validated socketID and channel (neither may contain ':'),
// or one signature could pass for another channel.
func ChannelString(socketID, channel, channelData string) string {
	s := socketID + ":" + channel
	if channelData != "" {
		s += ":" + channelData
	}
	return s
}

// ChannelAuth returns the "auth" value pusher-js sends with a subscription:
// "key:hex(HMAC(secret, socket_id:channel[:channel_data]))".
func ChannelAuth(key, secret, socketID, channel, channelData string) string {
	return auth(key, newMAC(secret), ChannelString(socketID, channel, channelData))
}

// UserString is the string Pusher signs for user sign-in:
// "socket_id::user::user_data".
func UserString(socketID, userData string) string {
	return socketID + "::user::" + userData
}

// UserAuth returns the "auth" value of a pusher:signin.
func UserAuth(key, secret, socketID, userData string) string {
	return auth(key, newMAC(secret), UserString(socketID, userData))
}

// VerifyAuth checks an "auth" value ("key:signature") against the expected
// key, secret and signed string, in constant time.
func VerifyAuth(got, key, secret, signed string) bool {
	return Equal(got, auth(key, newMAC(secret), signed))
}

// Signer makes the auth values of one app, as ChannelAuth and UserAuth do.
// The secret is keyed into HMAC-SHA256 once: after its first Reset,
// crypto/hmac keeps the hash states of the padded key (FIPS 198-1,
// section 6), and each signature starts from a clone of them instead of
// hashing the key again. A Signer is safe for concurrent use: the keyed
// state is only ever cloned.
type Signer struct {
	key   string
	keyed hash.Cloner
}

// NewSigner returns a Signer for the app's key and secret.
func NewSigner(key, secret string) *Signer {
	h := newMAC(secret)
	h.Reset()
	return &Signer{key: key, keyed: h.(hash.Cloner)}
}

// Channel is ChannelAuth with the Signer's key and secret.
func (s *Signer) Channel(socketID, channel, channelData string) string {
	return auth(s.key, s.mac(), ChannelString(socketID, channel, channelData))
}

// User is UserAuth with the Signer's key and secret.
func (s *Signer) User(socketID, userData string) string {
	return auth(s.key, s.mac(), UserString(socketID, userData))
}

func (s *Signer) mac() hash.Hash {
	h, err := s.keyed.Clone()
	if err != nil {
		// crypto/hmac over crypto/sha256 always clones.
		panic("signature: " + err.Error())
	}
	return h.(hash.Hash)
}

func newMAC(secret string) hash.Hash { return hmac.New(sha256.New, []byte(secret)) }

// auth is an "auth" value as Pusher defines it: the app key, ':' and the
// lowercase hex HMAC-SHA256 of msg under the secret h is keyed with. h is
// fresh: nothing has been written to it.
func auth(key string, h hash.Hash, msg string) string {
	io.WriteString(h, msg)
	var sum [sha256.Size]byte
	var digits [2 * sha256.Size]byte
	hex.Encode(digits[:], h.Sum(sum[:0]))
	var b strings.Builder
	b.Grow(len(key) + 1 + len(digits))
	b.WriteString(key)
	b.WriteByte(':')
	b.Write(digits[:])
	return b.String()
}

// SharedSecret returns the base64 shared secret of a private-encrypted
// channel: SHA-256 of the channel name followed by the 32-byte master key.
func SharedSecret(channel string, masterKey []byte) string {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write(masterKey)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Webhook returns the X-Pusher-Signature of a webhook body.
func Webhook(secret string, body []byte) string {
	return HMAC(secret, string(body))
}
