package stack

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

// TestLaravelEcho runs Laravel Echo (pusher-js under Node) against the
// stack, configured as the README shows: bearerToken, private() and join()
// without prefixes, and ".EmailSent" with its leading dot. An email sent
// the demo's way arrives; a listener without the dot, which Echo turns into
// App\Events\EmailSent, hears nothing.
func TestLaravelEcho(t *testing.T) {
	st := start(t, nil)
	out := testkit.RunNode(t, 2*time.Minute, []string{"BASE_URL=" + st.URLs().HTTP, "TIMEOUT_MS=30000"},
		filepath.Join(testkit.RepoRoot(t), "infra", "node", "scripts", "echo-demo.js"))
	lines := testkit.Lines(out)
	var r struct {
		Here     []string `json:"here"`
		Subject  string   `json:"subject"`
		Channel  string   `json:"channel"`
		Undotted *int     `json:"undotted_listener_calls"`
	}
	if len(lines) == 0 || json.Unmarshal([]byte(lines[len(lines)-1]), &r) != nil {
		t.Fatalf("echo script printed %q", out)
	}
	if !slices.Contains(r.Here, "Alice") || !strings.HasPrefix(r.Subject, "Echo check") || r.Channel != "private-App.Models.User.42" {
		t.Errorf("result %+v", r)
	}
	if r.Undotted == nil || *r.Undotted != 0 {
		t.Errorf("the listener without a leading dot was called: %v", r.Undotted)
	}
}
