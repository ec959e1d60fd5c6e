package stream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Modes a table can be broadcast in.
const (
	ModeModel  = "model"
	ModeOutbox = "outbox"
)

// Table configures how one table's records are broadcast.
//
//	Users:
//	  mode: model
//	  model: User
//	  channels: ["private-App.Models.User.{id}"]
//	  hidden: [password, remember_token]
//	Outbox:
//	  mode: outbox
type Table struct {
	// Mode is "model" or "outbox".
	Mode string `yaml:"mode"`
	// Model is the model's class basename, for event names: "User" gives
	// UserCreated, UserUpdated, UserDeleted. Required in model mode.
	Model string `yaml:"model"`
	// Channels are channel name templates; {attr} is replaced by the item's
	// attribute (a string or a number). Default
	// private-App.Models.{Model}.{id}, Laravel's channel for a model.
	Channels []string `yaml:"channels"`
	// Hidden attributes are never broadcast (Laravel's $hidden).
	Hidden []string `yaml:"hidden"`
	// Only, when set, lists the only attributes broadcast (Laravel's
	// $visible); Hidden still applies.
	Only []string `yaml:"only"`
	// Attribute, in outbox mode, names an attribute holding the whole
	// envelope (a JSON string or a map); by default the row's own name,
	// channel(s), data, socket_id, id, batch or notification attributes are
	// the envelope and its other attributes (keys, TTL) are ignored.
	Attribute string `yaml:"attribute"`
}

// Tables maps table names to their configuration.
type Tables map[string]Table

var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// Validate reports the first table that cannot work.
func (ts Tables) Validate() error {
	if len(ts) == 0 {
		return errors.New("stream: no tables configured (STREAM_TABLES or STREAM_TABLES_FILE)")
	}
	for name, t := range ts {
		switch t.Mode {
		case ModeModel:
			if t.Model == "" {
				return fmt.Errorf("stream: table %s: model mode needs \"model\" (the class basename, e.g. User)", name)
			}
			for _, c := range t.channels() {
				for _, m := range placeholder.FindAllStringSubmatch(c, -1) {
					if m[1] == "" {
						return fmt.Errorf("stream: table %s: channel %q has an empty placeholder {}", name, c)
					}
				}
			}
		case ModeOutbox:
			if len(t.Channels) > 0 || len(t.Hidden) > 0 || len(t.Only) > 0 || t.Model != "" {
				return fmt.Errorf("stream: table %s: outbox mode takes no model, channels, hidden or only (the rows are envelopes)", name)
			}
		default:
			return fmt.Errorf("stream: table %s: mode %q must be %q or %q", name, t.Mode, ModeModel, ModeOutbox)
		}
	}
	return nil
}

func (t Table) channels() []string {
	if len(t.Channels) > 0 {
		return t.Channels
	}
	return []string{"private-App.Models." + t.Model + ".{id}"}
}

// ParseTables reads the YAML table configuration strictly: unknown keys are
// errors, so a typo does not silently broadcast a hidden attribute.
func ParseTables(data []byte) (Tables, error) {
	var ts Tables
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&ts); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("stream: table configuration: %w", err)
	}
	if err := ts.Validate(); err != nil {
		return nil, err
	}
	return ts, nil
}

// LoadTables reads the configuration from inline YAML (STREAM_TABLES) or,
// when that is empty, from a file (STREAM_TABLES_FILE).
func LoadTables(inline, file string) (Tables, error) {
	switch {
	case strings.TrimSpace(inline) != "":
		return ParseTables([]byte(inline))
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("stream: STREAM_TABLES_FILE: %w", err)
		}
		return ParseTables(data)
	}
	return nil, errors.New("stream: set STREAM_TABLES (YAML) or STREAM_TABLES_FILE")
}

// TableName returns the table name in a stream ARN:
// arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL.
func TableName(arn string) (string, bool) {
	_, rest, ok := strings.Cut(arn, ":table/")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	return name, name != ""
}
