package broadcast

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/heraldrt/herald/shared/config"
)

// Connection returns the selected connection: config.Lookup.Connection
// (BROADCAST_CONNECTION, else Laravel 10's BROADCAST_DRIVER), else "null",
// as in Laravel: an unconfigured function runs and sends nothing.
func Connection(l config.Lookup) string {
	if c := l.Connection(); c != "" {
		return c
	}
	return "null"
}

// LoadConfig reads the driver configuration under Laravel's names and
// validates the selected connection (see Connection).
// BROADCAST_CONNECTION=reverb reads Laravel's REVERB_* variables into the
// pusher driver's settings.
func LoadConfig(l config.Lookup) (Config, error) {
	cfg := Config{Connection: Connection(l)}
	var errs []error
	intVar := func(key string, dst *int, minimum, maximum int) {
		s := l.Get(key)
		if s == "" {
			return
		}
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %q is not a whole number", key, s))
		case n < minimum || n > maximum:
			errs = append(errs, fmt.Errorf("%s %d must be between %d and %d", key, n, minimum, maximum))
		default:
			*dst = n
		}
	}
	var concurrency int
	intVar("BROADCAST_CONCURRENCY", &concurrency, 1, MaxConcurrency)

	switch cfg.Connection {
	case "reverb":
		p := &cfg.Pusher
		p.Reverb = true
		p.AppID = l.Get("REVERB_APP_ID")
		p.Key = l.Get("REVERB_APP_KEY")
		p.Secret = l.Get("REVERB_APP_SECRET")
		p.Host = l.Get("REVERB_HOST")
		p.Scheme = strings.ToLower(l.Get("REVERB_SCHEME"))
		p.EncryptionMasterKeyBase64 = l.Get("PUSHER_ENCRYPTION_MASTER_KEY_BASE64")
		intVar("REVERB_PORT", &p.Port, 1, 65535)
		p.Concurrency = concurrency
	case "pusher":
		p := &cfg.Pusher
		p.AppID = l.Get("PUSHER_APP_ID")
		p.Key = l.Get("PUSHER_APP_KEY")
		p.Secret = l.Get("PUSHER_APP_SECRET")
		p.Cluster = l.Get("PUSHER_APP_CLUSTER")
		p.Host = l.Get("PUSHER_HOST")
		p.Scheme = strings.ToLower(l.Get("PUSHER_SCHEME"))
		p.EncryptionMasterKeyBase64 = l.Get("PUSHER_ENCRYPTION_MASTER_KEY_BASE64")
		intVar("PUSHER_PORT", &p.Port, 1, 65535)
		intVar("PUSHER_MAX_DATA_BYTES", &p.MaxDataBytes, 1, 1<<20)
		p.Concurrency = concurrency
	case "ably":
		a := &cfg.Ably
		a.Key = l.Get("ABLY_KEY")
		a.Host = l.Get("ABLY_HOST")
		a.Scheme = strings.ToLower(l.Get("ABLY_SCHEME"))
		intVar("ABLY_PORT", &a.Port, 1, 65535)
		a.Concurrency = concurrency
	}
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}
