package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/heraldrt/herald/infra/local/web"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/protocol"
)

// The seed scenario's names, as the page binds them.
const (
	EmailEvent        = "EmailSent"
	UserChannelPrefix = "private-App.Models.User."
	PresenceChannel   = "presence-online"
	tokenLifetime     = 12 * time.Hour
)

// routes mounts the deployed HTTP API's routes, the page and /dev.
func (s *Stack) routes() {
	m := http.NewServeMux()
	// The deployed HTTP API's routes, each through an API Gateway event.
	// The auth function answers its own CORS preflights.
	for _, r := range []struct{ fn, route string }{
		{"AuthFunction", "POST /broadcasting/auth"},
		{"AuthFunction", "OPTIONS /broadcasting/auth"},
		{"AuthFunction", "POST /broadcasting/user-auth"},
		{"AuthFunction", "OPTIONS /broadcasting/user-auth"},
		{"PublishFunction", "POST /apps/{app_id}/events"},
		{"PublishFunction", "POST /apps/{app_id}/batch_events"},
		{"PublishFunction", "GET /apps/{app_id}/channels"},
		{"PublishFunction", "GET /apps/{app_id}/channels/{channel_name}"},
		{"PublishFunction", "GET /apps/{app_id}/channels/{channel_name}/users"},
		{"PublishFunction", "POST /apps/{app_id}/users/{user_id}/terminate_connections"},
	} {
		h, _ := s.fns.Handler(r.fn) // instrumented as lambdamain does
		m.Handle(r.route, newAPIGateway(r.fn, r.route, h, s.log))
	}

	m.Handle("GET /{$}", s.file("index.html", "text/html; charset=utf-8"))
	m.Handle("GET /app.js", s.file("app.js", "text/javascript; charset=utf-8"))
	m.Handle("GET /style.css", s.file("style.css", "text/css; charset=utf-8"))
	m.HandleFunc("GET /pusher.min.js", s.pusherJS)
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	m.HandleFunc("GET /dev/config", s.devConfig)
	m.HandleFunc("GET /dev/token", s.devToken)
	m.Handle("POST /dev/send-email", pageOnly(s.devSendEmail))
	m.HandleFunc("GET /dev/users", s.devUsers)
	m.Handle("POST /dev/users", pageOnly(s.devCreateUser))
	m.Handle("POST /dev/users/{id}", pageOnly(s.devRenameUser))
	m.Handle("DELETE /dev/users/{id}", pageOnly(s.devDeleteUser))
	m.HandleFunc("GET /dev/queues", s.devQueues)
	m.Handle("GET /dev/metrics", s.file("metrics.html", "text/html; charset=utf-8"))
	m.HandleFunc("GET /dev/metrics.json", s.devMetricsJSON)
	s.mux = m
}

// loopbackOnly answers only requests addressed to a loopback name or
// address. A site that makes its own name resolve to 127.0.0.1 (DNS
// rebinding) reaches the port, but its requests carry its own name in
// Host: without this check its page could read /dev/token and call the
// functions as if it were the demo page.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpapi.Loopback(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, fmt.Sprintf("Host %q is not a loopback name: the local stack answers only 127.0.0.1, [::1] and localhost", r.Host))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// pageOnly guards the /dev writes: only the page itself, or a script that
// says it is, may send them. A page on another site can send a "simple"
// cross-site POST (text/plain, a form) without a preflight, and every
// browser sends its Origin with a POST or DELETE; so a write must be JSON
// (a cross-site JSON request needs a preflight, which nothing here
// answers) and come from the page's own origin. curl:
// -H 'Content-Type: application/json' -H 'Origin: http://127.0.0.1:3000'.
func pageOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "send Content-Type: application/json")
				return
			}
		}
		if o := r.Header.Get("Origin"); o != "http://"+r.Host {
			writeError(w, http.StatusForbidden, fmt.Sprintf("Origin %q is not this page's (http://%s): the /dev writes are for the demo page", o, r.Host))
			return
		}
		h(w, r)
	})
}

func (s *Stack) file(name, contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(web.Files, name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	})
}

// pusherJS serves pusher-js from the locked npm package, so the page works
// offline and runs exactly the client version the tests use.
func (s *Stack) pusherJS(w http.ResponseWriter, r *http.Request) {
	path, err := pusherJSPath(s.cfg.NodeModules)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	http.ServeFile(w, r, path)
}

// pusherJSPath finds infra/node/node_modules/pusher-js's browser build,
// from nodeModules or from the working directory upwards.
func pusherJSPath(nodeModules string) (string, error) {
	const rel = "pusher-js/dist/web/pusher.min.js"
	if nodeModules != "" {
		p := filepath.Join(nodeModules, rel)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("pusher-js not found at %s: run `make node-deps`", p)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "infra", "node", "node_modules", rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("pusher-js not found under infra/node/node_modules: run `make node-deps` from the repository")
		}
		dir = parent
	}
}

// PageConfig is what the page needs to connect pusher-js.
type PageConfig struct {
	Connection        string `json:"connection"`
	Key               string `json:"key"`
	Cluster           string `json:"cluster"`
	WSHost            string `json:"wsHost,omitempty"`
	WSPort            int    `json:"wsPort,omitempty"`
	ForceTLS          bool   `json:"forceTLS"`
	AuthEndpoint      string `json:"authEndpoint"`
	UserAuthEndpoint  string `json:"userAuthEndpoint"`
	EmailEvent        string `json:"emailEvent"`
	UserChannelPrefix string `json:"userChannelPrefix"`
	PresenceChannel   string `json:"presenceChannel"`
	Users             []User `json:"users"`
}

// Where pusher-js connects to reach Ably through its Pusher adapter.
const ablyPusherHost = "realtime-pusher.ably.io"

// pageConfig connects the page where the selected driver publishes: the
// embedded server or another Pusher-compatible host named by PUSHER_HOST
// (or ABLY_HOST, REVERB_HOST), hosted Pusher by cluster, or Ably's Pusher
// adapter.
func (s *Stack) pageConfig() PageConfig {
	c := PageConfig{
		Connection:        s.env.Get("BROADCAST_CONNECTION"),
		Cluster:           s.env.Get("PUSHER_APP_CLUSTER"),
		AuthEndpoint:      "/broadcasting/auth",
		UserAuthEndpoint:  "/broadcasting/user-auth",
		EmailEvent:        EmailEvent,
		UserChannelPrefix: UserChannelPrefix,
		PresenceChannel:   PresenceChannel,
		Users:             DemoUsers,
	}
	if c.Cluster == "" {
		c.Cluster = "mt1" // pusher-js 8 insists on one, even with wsHost
	}
	prefix := s.env.prefix()
	switch c.Connection {
	case "ably":
		// pusher-js connects with the key's name; the embedded server
		// refused an invalid key at start-up.
		k, _ := protocol.ParseAblyKey(s.env.Get("ABLY_KEY"))
		c.Key = k.Name
	case "reverb":
		c.Key = s.env.Get("REVERB_APP_KEY")
	default:
		c.Key = s.env.Get("PUSHER_APP_KEY")
	}
	host := s.env.Get(prefix + "HOST")
	if host == "" {
		// Hosted: Pusher by cluster (pusher-js's default hosts), Ably by
		// its adapter's host; both over TLS.
		c.ForceTLS = true
		if c.Connection == "ably" {
			c.WSHost, c.WSPort = ablyPusherHost, 443
		}
		return c
	}
	c.ForceTLS = s.env.Get(prefix+"SCHEME") == "https"
	c.WSHost = host
	c.WSPort, _ = strconv.Atoi(s.env.Get(prefix + "PORT"))
	if c.WSPort == 0 {
		c.WSPort = 80
		if c.ForceTLS {
			c.WSPort = 443
		}
	}
	return c
}
