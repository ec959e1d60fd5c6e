package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/heraldrt/herald/functions/auth/rules"
	"github.com/heraldrt/herald/shared/jsontext"
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
	if len(m.ID) > protocol.MaxUserIDLength {
		return nil, fmt.Errorf("member id is %d bytes, Pusher's limit is %d", len(m.ID), protocol.MaxUserIDLength)
	}
	if len(m.Info) == 0 {
		// No info and empty info read the same to pusher-js; omit both.
		return nil, nil
	}
	b, err := encode(m.Info)
	if err != nil {
		return nil, err
	}
	if len(b) > protocol.MaxUserInfoBytes {
		return nil, fmt.Errorf("user_info is %d bytes, Pusher's limit is %d", len(b), protocol.MaxUserInfoBytes)
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
