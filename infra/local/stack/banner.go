package stack

import (
	"fmt"
	"io"
	"strings"
)

// printBanner tells a person what is running where and how to connect: the
// addresses, the effective configuration (secrets only when they are the
// stack's own local defaults) and a pusher-js snippet.
func (s *Stack) printBanner(w io.Writer) {
	u := s.URLs()
	pc := s.pageConfig()
	target := "the embedded server"
	if !s.env.Embedded(s.serverL.Addr().String()) {
		target = "a provider outside this stack (from the environment)"
	}
	fmt.Fprintf(w, "herald local stack: BROADCAST_CONNECTION=%s, broadcasting to %s\n\n", pc.Connection, target)
	fmt.Fprintf(w, "  Demo page        %s/\n", u.HTTP)
	fmt.Fprintf(w, "  HTTP functions   %s  (POST /broadcasting/auth, /broadcasting/user-auth, /apps/{app_id}/events, /apps/{app_id}/batch_events)\n", u.HTTP)
	fmt.Fprintf(w, "  Pusher server    %s  (ws://%s/app/{key}, Pusher HTTP API, Ably REST)\n", u.Server, strings.TrimPrefix(u.Server, "http://"))
	fmt.Fprintf(w, "  Local SQS        %s\n", u.SQS)
	fmt.Fprintf(w, "  Broadcast queue  %s  (-> QueueFunction, DLQ after %d receives)\n", u.Queue, s.cfg.MaxReceives)
	fmt.Fprintf(w, "  Dead letters     %s  (inspect: %s/dev/queues)\n", u.DLQ, u.HTTP)
	fmt.Fprintf(w, "  Demo token       %s/dev/token?sub=42&name=Alice\n\n", u.HTTP)

	fmt.Fprintln(w, "Configuration (environment variables override these):")
	for _, k := range s.env.Keys() {
		v := s.env.Get(k)
		switch {
		case secretKey(k) && !s.env.Defaulted(k):
			v = "(set in the environment)"
		case strings.Contains(v, "\n"):
			v = strings.ReplaceAll(strings.TrimSpace(v), "\n", "\n      ")
			v = "|\n      " + v
		}
		fmt.Fprintf(w, "  %s=%s\n", k, v)
	}

	fmt.Fprintln(w, "\npusher-js:")
	opts := fmt.Sprintf("cluster: %q", pc.Cluster)
	if pc.WSHost != "" {
		opts += fmt.Sprintf(", wsHost: %q, wsPort: %d, forceTLS: %t, enabledTransports: ['ws', 'wss']", pc.WSHost, pc.WSPort, pc.ForceTLS)
	}
	fmt.Fprintf(w, `  const pusher = new Pusher(%q, {
    %s,
    channelAuthorization: {
      endpoint: %q,
      headers: { Authorization: 'Bearer ' + token }, // from %s/dev/token?sub=42&name=Alice
    },
  });
  pusher.subscribe('private-App.Models.User.42').bind('EmailSent', (e) => console.log(e));
`, pc.Key, opts, u.HTTP+pc.AuthEndpoint, u.HTTP)
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}
