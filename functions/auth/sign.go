package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/heraldrt/herald/functions/auth/rules"
	"github.com/heraldrt/herald/shared/jsontext"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// MaxUserInfoBytes is Pusher's limit on a presence member's user_info.
const MaxUserInfoBytes = 1024

// signer signs with the configured driver's credentials.
type signer struct {
	connection  string
	key, secret string
	masterKey   []byte
	// macs are HMAC-SHA256 hashes keyed with secret. Keying one costs two
	// SHA-256 blocks and its allocations; a reset hash starts from its
	// keyed state, so each is keyed once and reused.
	macs *sync.Pool
}

func newSigner(connection, key, secret string, masterKey []byte) signer {
	return signer{connection: connection, key: key, secret: secret, masterKey: masterKey,
		macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, []byte(secret)) }}}
}

// supports refuses kinds the driver cannot sign before anything else
// happens, so a misconfiguration reads as what it is.
func (s signer) supports(k protocol.Kind) error {
	if k != protocol.PrivateEncrypted {
		return nil
	}
	if s.connection == "ably" {
		return errors.New("private-encrypted channels are not supported with BROADCAST_CONNECTION=ably: Ably's Pusher adapter cannot carry end-to-end encrypted channels")
	}
	if len(s.masterKey) == 0 {
		return fmt.Errorf("private-encrypted channels need %s, which this function does not have", EnvMasterKey)
	}
	return nil
}

// channel is signature.ChannelAuth with a reused keyed hash.
func (s signer) channel(socketID, name, channelData string) string {
	return s.auth(signature.ChannelString(socketID, name, channelData))
}

// user is signature.UserAuth with a reused keyed hash.
func (s signer) user(socketID, userData string) string {
	return s.auth(signature.UserString(socketID, userData))
}

// auth is "key:" and the lowercase hex HMAC-SHA256 of msg under the secret.
func (s signer) auth(msg string) string {
	h := s.macs.Get().(hash.Hash)
	h.Reset()
	io.WriteString(h, msg)
	var sum [sha256.Size]byte
	var digits [2 * sha256.Size]byte
	hex.Encode(digits[:], h.Sum(sum[:0]))
	s.macs.Put(h)
	var b strings.Builder
	b.Grow(len(s.key) + 1 + len(digits))
	b.WriteString(s.key)
	b.WriteByte(':')
	b.Write(digits[:])
	return b.String()
}

func (s signer) sharedSecret(name string) string {
	return signature.SharedSecret(name, s.masterKey)
}

// presenceData returns the exact channel_data to sign and return, within
// Pusher's presence limits.
func presenceData(m rules.Member) (string, error) {
	info, err := checkMember(m)
	if err != nil {
		return "", err
	}
	return string(memberJSON("user_id", m.ID, info)), nil
}

// userData returns the exact user_data of a sign-in.
func userData(m rules.Member) (string, error) {
	info, err := checkMember(m)
	if err != nil {
		return "", err
	}
	// The id names the user's "#server-to-user-" channel, so it must be
	// usable in one.
	if err := protocol.ValidateChannel(protocol.UserChannel(m.ID)); err != nil {
		return "", fmt.Errorf("id %q cannot name a user channel: %s", abbreviate(m.ID), protocol.ChannelCharsetMessage)
	}
	return string(memberJSON("id", m.ID, info)), nil
}

// memberJSON is {"<idField>":id,"user_info":info}, without user_info when
// info is empty, as an Encoder without HTML escaping writes it (info is
// already such JSON). Field order matters only for readability: the
// signature covers whatever bytes are returned.
func memberJSON(idField, id string, info json.RawMessage) []byte {
	b := make([]byte, 0, len(idField)+len(id)+len(info)+32)
	b = append(append(append(b, `{"`...), idField...), `":`...)
	b = jsontext.AppendString(b, id, false)
	if len(info) > 0 {
		b = append(append(b, `,"user_info":`...), info...)
	}
	return append(b, '}')
}

// checkMember applies Pusher's presence limits and returns the encoded
// info (nil when there is none).
func checkMember(m rules.Member) (json.RawMessage, error) {
	if m.ID == "" {
		return nil, errors.New("member id is empty")
	}
	if n := utf8.RuneCountInString(m.ID); n > protocol.MaxUserIDLength {
		return nil, fmt.Errorf("member id is %d characters, Pusher's limit is %d", n, protocol.MaxUserIDLength)
	}
	if len(m.Info) == 0 {
		// No info and empty info read the same to pusher-js; omit both.
		return nil, nil
	}
	b, err := encode(m.Info)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxUserInfoBytes {
		return nil, fmt.Errorf("user_info is %d bytes, Pusher's limit is %d", len(b), MaxUserInfoBytes)
	}
	return b, nil
}

// encode writes JSON as JSON.stringify would for these values: no HTML
// escaping (the data is never HTML), object keys sorted.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding member data: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
