package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/heraldrt/herald/functions/auth/rules"
	"github.com/heraldrt/herald/shared/channel"
	"github.com/heraldrt/herald/shared/signature"
)

// MaxUserInfoBytes is Pusher's limit on a presence member's user_info.
const MaxUserInfoBytes = 1024

// signer signs with the configured driver's credentials.
type signer struct {
	connection  string
	key, secret string
	masterKey   []byte
}

// supports refuses kinds the driver cannot sign before anything else
// happens, so a misconfiguration reads as what it is.
func (s signer) supports(k channel.Kind) error {
	if k != channel.PrivateEncrypted {
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

func (s signer) channel(socketID, name, channelData string) string {
	return signature.ChannelAuth(s.key, s.secret, socketID, name, channelData)
}

func (s signer) user(socketID, userData string) string {
	return signature.UserAuth(s.key, s.secret, socketID, userData)
}

func (s signer) sharedSecret(name string) string {
	return signature.SharedSecret(name, s.masterKey)
}

// presence is channel_data. Field order matters only for readability: the
// signature covers whatever bytes are returned.
type presence struct {
	UserID   string          `json:"user_id"`
	UserInfo json.RawMessage `json:"user_info,omitempty"`
}

// user is user_data for a sign-in.
type user struct {
	ID       string          `json:"id"`
	UserInfo json.RawMessage `json:"user_info,omitempty"`
}

// presenceData returns the exact channel_data to sign and return, within
// Pusher's presence limits.
func presenceData(m rules.Member) (string, error) {
	info, err := checkMember(m)
	if err != nil {
		return "", err
	}
	b, err := encode(presence{UserID: m.ID, UserInfo: info})
	return string(b), err
}

// userData returns the exact user_data of a sign-in.
func userData(m rules.Member) (string, error) {
	info, err := checkMember(m)
	if err != nil {
		return "", err
	}
	// The id names the user's "#server-to-user-" channel, so it must be
	// usable in one.
	if err := channel.Validate(channel.UserChannel(m.ID)); err != nil {
		return "", fmt.Errorf("id %q cannot name a user channel: %s", abbreviate(m.ID), channel.CharsetMessage)
	}
	b, err := encode(user{ID: m.ID, UserInfo: info})
	return string(b), err
}

// checkMember applies Pusher's presence limits and returns the encoded
// info (nil when there is none).
func checkMember(m rules.Member) (json.RawMessage, error) {
	if m.ID == "" {
		return nil, errors.New("member id is empty")
	}
	if n := utf8.RuneCountInString(m.ID); n > channel.MaxUserIDLength {
		return nil, fmt.Errorf("member id is %d characters, Pusher's limit is %d", n, channel.MaxUserIDLength)
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
