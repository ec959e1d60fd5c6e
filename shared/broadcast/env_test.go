package broadcast

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/heraldrt/herald/shared/config"
)

const (
	secretValue = "7ad3773142a6692b25b8"
	ablySecret  = "ably-secret-value-for-tests"
)

func TestBroadcastVariables(t *testing.T) {
	pusherBase := map[string]string{
		"BROADCAST_CONNECTION": "pusher",
		"PUSHER_APP_ID":        "3",
		"PUSHER_APP_KEY":       "278d425bdf160c739803",
		"PUSHER_APP_SECRET":    secretValue,
	}
	ablyBase := map[string]string{"BROADCAST_CONNECTION": "ably", "ABLY_KEY": "appid.keyid:" + ablySecret}
	// Laravel 11's .env after `php artisan install:broadcasting`.
	reverbBase := map[string]string{
		"BROADCAST_CONNECTION": "reverb",
		"REVERB_APP_ID":        "316154",
		"REVERB_APP_KEY":       "qdpfmxmjvpxbzxa1nqxd",
		"REVERB_APP_SECRET":    secretValue,
		"REVERB_HOST":          "localhost",
		"REVERB_PORT":          "8080",
		"REVERB_SCHEME":        "http",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset connection is null", map[string]string{}, ""},
		{"unknown connection", map[string]string{"BROADCAST_CONNECTION": "soketi"}, `BROADCAST_CONNECTION "soketi" is not one of pusher, reverb, ably, log, null`},
		{"unknown BROADCAST_DRIVER", map[string]string{"BROADCAST_DRIVER": "soketi"}, `BROADCAST_CONNECTION "soketi" is not one of pusher, reverb, ably, log, null`},
		{"reverb ok", reverbBase, ""},
		{"REVERB_APP_KEY", with(reverbBase, "REVERB_APP_KEY", ""), "REVERB_APP_KEY is empty"},
		{"REVERB_HOST", with(reverbBase, "REVERB_HOST", ""), "REVERB_HOST is empty: it names the Reverb (or other Pusher-compatible) server to publish to"},
		{"REVERB_PORT", with(reverbBase, "REVERB_PORT", "eighty"), `REVERB_PORT "eighty" is not a whole number`},
		{"REVERB_SCHEME", with(reverbBase, "REVERB_SCHEME", "wss"), `REVERB_SCHEME "wss" must be http or https`},
		{"log ignores pusher settings", with(pusherBase, "BROADCAST_CONNECTION", "log", "PUSHER_PORT", "x"), ""},
		{"pusher ok", pusherBase, ""},
		{"PUSHER_APP_ID", with(pusherBase, "PUSHER_APP_ID", ""), "PUSHER_APP_ID is empty"},
		{"PUSHER_APP_KEY", with(pusherBase, "PUSHER_APP_KEY", " "), "PUSHER_APP_KEY is empty"},
		{"PUSHER_APP_SECRET", with(pusherBase, "PUSHER_APP_SECRET", ""), "PUSHER_APP_SECRET is empty"},
		{"PUSHER_HOST", with(pusherBase, "PUSHER_HOST", "https://soketi.local"), `PUSHER_HOST "https://soketi.local" must be a host name, without scheme or path`},
		{"PUSHER_PORT not a number", with(pusherBase, "PUSHER_PORT", "http"), `PUSHER_PORT "http" is not a whole number`},
		{"PUSHER_PORT range", with(pusherBase, "PUSHER_PORT", "0"), "PUSHER_PORT 0 must be between 1 and 65535"},
		{"PUSHER_SCHEME", with(pusherBase, "PUSHER_SCHEME", "wss"), `PUSHER_SCHEME "wss" must be http or https`},
		{"PUSHER_ENCRYPTION_MASTER_KEY_BASE64", with(pusherBase, "PUSHER_ENCRYPTION_MASTER_KEY_BASE64", base64.StdEncoding.EncodeToString([]byte(secretValue))), "PUSHER_ENCRYPTION_MASTER_KEY_BASE64 must decode to 32 bytes, it decodes to 20"},
		{"PUSHER_MAX_DATA_BYTES", with(pusherBase, "PUSHER_MAX_DATA_BYTES", "10KB"), `PUSHER_MAX_DATA_BYTES "10KB" is not a whole number`},
		{"BROADCAST_CONCURRENCY", with(pusherBase, "BROADCAST_CONCURRENCY", "0"), "BROADCAST_CONCURRENCY 0 must be between 1 and 256"},
		{"ably ok", ablyBase, ""},
		{"ABLY_KEY", with(ablyBase, "ABLY_KEY", ""), "ABLY_KEY is empty"},
		{"ABLY_KEY form", with(ablyBase, "ABLY_KEY", ablySecret), `ABLY_KEY must have the form appId.keyId:secret (no ":" found)`},
		{"ABLY_PORT", with(ablyBase, "ABLY_PORT", "99999"), "ABLY_PORT 99999 must be between 1 and 65535"},
		{"ABLY_SCHEME", with(ablyBase, "ABLY_SCHEME", "ftp"), `ABLY_SCHEME "ftp" must be http or https`},
		{"ABLY_HOST", with(ablyBase, "ABLY_HOST", "a/b"), `ABLY_HOST "a/b" must be a host name, without scheme or path`},
		{"two errors at once", with(pusherBase, "PUSHER_PORT", "x", "BROADCAST_CONCURRENCY", "y"), "BROADCAST_CONCURRENCY \"y\" is not a whole number\nPUSHER_PORT \"x\" is not a whole number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadConfig(config.Map(c.env))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != c.want {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), secretValue) || strings.Contains(err.Error(), ablySecret) {
				t.Fatal("error reveals a secret")
			}
		})
	}

	t.Run("values reach the config", func(t *testing.T) {
		cfg, err := LoadConfig(config.Map(with(pusherBase, "PUSHER_APP_CLUSTER", "eu", "PUSHER_HOST", "127.0.0.1", "PUSHER_PORT", "6001",
			"PUSHER_SCHEME", "HTTP", "PUSHER_MAX_DATA_BYTES", "20480", "BROADCAST_CONCURRENCY", "32")))
		if err != nil {
			t.Fatal(err)
		}
		want := PusherConfig{AppID: "3", Key: "278d425bdf160c739803", Secret: secretValue, Cluster: "eu", Host: "127.0.0.1",
			Port: 6001, Scheme: "http", MaxDataBytes: 20480, Concurrency: 32}
		if cfg.Pusher != want || cfg.Connection != "pusher" {
			t.Fatalf("got %+v\nwant %+v", cfg.Pusher, want)
		}
		cfg, err = LoadConfig(config.Map(with(ablyBase, "ABLY_HOST", "localhost", "ABLY_PORT", "8080", "ABLY_SCHEME", "http")))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Ably.Host != "localhost" || cfg.Ably.Port != 8080 || cfg.Ably.Scheme != "http" {
			t.Fatalf("ably %+v", cfg.Ably)
		}
		if cfg, _ := LoadConfig(config.Map(nil)); cfg.Connection != "null" {
			t.Fatalf("default connection %q", cfg.Connection)
		}
		cfg, err = LoadConfig(config.Map(reverbBase))
		if err != nil {
			t.Fatal(err)
		}
		want = PusherConfig{AppID: "316154", Key: "qdpfmxmjvpxbzxa1nqxd", Secret: secretValue, Host: "localhost", Port: 8080, Scheme: "http", Reverb: true}
		if cfg.Pusher != want || cfg.Connection != "reverb" {
			t.Fatalf("reverb: got %+v\nwant %+v", cfg.Pusher, want)
		}
	})

	t.Run("BROADCAST_DRIVER is read when BROADCAST_CONNECTION is unset", func(t *testing.T) {
		for _, c := range []struct {
			env  map[string]string
			want string
		}{
			{map[string]string{"BROADCAST_DRIVER": "log"}, "log"},
			{map[string]string{"BROADCAST_DRIVER": "log", "BROADCAST_CONNECTION": "null"}, "null"},
			{map[string]string{"BROADCAST_DRIVER": ""}, "null"},
		} {
			if got := Connection(config.Map(c.env)); got != c.want {
				t.Errorf("Connection(%v) = %q, want %q", c.env, got, c.want)
			}
		}
		cfg, err := LoadConfig(config.Map(with(pusherBase, "BROADCAST_CONNECTION", "", "BROADCAST_DRIVER", "pusher")))
		if err != nil || cfg.Connection != "pusher" || cfg.Pusher.AppID != "3" {
			t.Fatalf("BROADCAST_DRIVER=pusher: %+v, %v", cfg, err)
		}
	})
}
