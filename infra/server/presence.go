package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/heraldrt/herald/shared/protocol"
)

// member is one user in a presence channel. conns counts the user's
// connections subscribed to the channel: the member leaves only when the
// last of them does, so two tabs of one user are one member.
type member struct {
	id    string
	info  json.RawMessage
	conns int
}

// memberWire is the data of member_added.
type memberWire struct {
	UserID   string          `json:"user_id"`
	UserInfo json.RawMessage `json:"user_info,omitempty"`
}

func (m *member) wire() memberWire { return memberWire{UserID: m.id, UserInfo: m.info} }

// memberRemoved is the data of member_removed.
type memberRemoved struct {
	UserID string `json:"user_id"`
}

// presenceData is the data of a presence channel's subscription_succeeded.
type presenceData struct {
	Presence presenceHash `json:"presence"`
}

type presenceHash struct {
	IDs   []string                   `json:"ids"`
	Hash  map[string]json.RawMessage `json:"hash"`
	Count int                        `json:"count"`
}

func presenceList(members map[string]*member) presenceHash {
	p := presenceHash{IDs: make([]string, 0, len(members)), Hash: make(map[string]json.RawMessage, len(members)), Count: len(members)}
	for id, m := range members {
		p.IDs = append(p.IDs, id)
		info := m.info
		if len(info) == 0 {
			info = json.RawMessage("null")
		}
		p.Hash[id] = info
	}
	sort.Strings(p.IDs)
	return p
}

// presenceMember is the member a presence subscription's channel_data
// declares.
type presenceMember struct {
	UserID   string
	UserInfo json.RawMessage
}

// parseChannelData reads a presence subscription's channel_data:
// {"user_id": string or number, "user_info": any}. Numeric ids become their
// decimal text, as Pusher treats them.
func parseChannelData(s string) (*presenceMember, error) {
	var raw struct {
		UserID   json.RawMessage `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, errors.New("channel_data is not a JSON object")
	}
	var id string
	switch {
	case len(raw.UserID) == 0 || bytes.Equal(raw.UserID, []byte("null")):
		return nil, errors.New("channel_data has no user_id")
	case raw.UserID[0] == '"':
		if err := json.Unmarshal(raw.UserID, &id); err != nil {
			return nil, errors.New("channel_data user_id is not a string")
		}
	default:
		var n json.Number
		if err := json.Unmarshal(raw.UserID, &n); err != nil {
			return nil, errors.New("channel_data user_id must be a string or a number")
		}
		id = n.String()
	}
	if id == "" {
		return nil, errors.New("channel_data user_id is empty")
	}
	if len(id) > protocol.MaxUserIDLength {
		return nil, fmt.Errorf("user_id is %d bytes, the limit is %d", len(id), protocol.MaxUserIDLength)
	}
	if len(raw.UserInfo) > protocol.MaxUserInfoBytes {
		return nil, fmt.Errorf("user_info is %d bytes, the limit is %d", len(raw.UserInfo), protocol.MaxUserInfoBytes)
	}
	var info json.RawMessage
	if len(raw.UserInfo) > 0 && !bytes.Equal(raw.UserInfo, []byte("null")) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw.UserInfo); err != nil {
			return nil, errors.New("channel_data user_info is not JSON")
		}
		info = buf.Bytes()
	}
	return &presenceMember{UserID: id, UserInfo: info}, nil
}
