package auth

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"

	"github.com/heraldrt/herald/functions/auth/rules"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// signer signs with the configured driver's credentials.
type signer struct {
	connection string
	masterKey  []byte
	*signature.Signer
}

func newSigner(connection, key, secret string, masterKey []byte) signer {
	return signer{connection: connection, masterKey: masterKey, Signer: signature.NewSigner(key, secret)}
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
	return memberJSON(presenceMember{UserID: m.ID, UserInfo: info})
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
		return "", fmt.Errorf("id %q cannot name a user channel: %s", protocol.Abbreviate(m.ID), protocol.ChannelCharsetMessage)
	}
	return memberJSON(signedInUser{ID: m.ID, UserInfo: info})
}

// presenceMember is a presence channel's channel_data.
type presenceMember struct {
	UserID   string         `json:"user_id"`
	UserInfo jsontext.Value `json:"user_info,omitempty"`
}

// signedInUser is a sign-in's user_data.
type signedInUser struct {
	ID       string         `json:"id"`
	UserInfo jsontext.Value `json:"user_info,omitempty"`
}

// memberOptions write member data as JSON.stringify would for these values
// (no HTML escaping: the data is never HTML), with object keys sorted so
// that the same member always signs the same bytes, and invalid UTF-8
// replaced by U+FFFD rather than refusing the member.
var memberOptions = json.JoinOptions(json.Deterministic(true), jsontext.AllowInvalidUTF8(true))

// memberJSON encodes channel_data or user_data. The signature covers
// whatever bytes are returned.
func memberJSON(v any) (string, error) {
	b, err := json.Marshal(v, memberOptions)
	if err != nil {
		return "", fmt.Errorf("encoding member data: %w", err)
	}
	return string(b), nil
}

// checkMember applies Pusher's presence limits and returns the encoded
// info (nil when there is none).
func checkMember(m rules.Member) (jsontext.Value, error) {
	if m.ID == "" {
		return nil, errors.New("member id is empty")
	}
	if len(m.ID) > protocol.MaxUserIDLength {
		return nil, fmt.Errorf("member id is %d bytes, Pusher's limit is %d", len(m.ID), protocol.MaxUserIDLength)
	}
	if len(m.Info) == 0 {
		// No info and empty info read the same to pusher-js; omit both.
		return nil, nil
	}
	b, err := json.Marshal(m.Info, memberOptions)
	if err != nil {
		return nil, fmt.Errorf("encoding member data: %w", err)
	}
	if len(b) > protocol.MaxUserInfoBytes {
		return nil, fmt.Errorf("user_info is %d bytes, Pusher's limit is %d", len(b), protocol.MaxUserInfoBytes)
	}
	return b, nil
}
