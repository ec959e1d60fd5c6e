package stack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestDevRefusals: the page's local endpoints refuse what would only end
// up as a poison message or a silent no-op.
func TestDevRefusals(t *testing.T) {
	st := start(t, nil)
	base := st.URLs().HTTP
	for _, tc := range []struct {
		name, path, body string
		want             int
	}{
		{"email to a name that is no channel", "/dev/send-email", `{"to":"4 2","subject":"x"}`, http.StatusBadRequest},
		{"email without subject", "/dev/send-email", `{"to":"42","subject":" "}`, http.StatusBadRequest},
		{"email not JSON", "/dev/send-email", `to=42`, http.StatusBadRequest},
		{"email", "/dev/send-email", `{"to":"42","subject":"hello"}`, http.StatusOK},
		{"rename unknown user", "/dev/users/7", `{"name":"Carol"}`, http.StatusNotFound},
		{"rename to nothing", "/dev/users/42", `{"name":""}`, http.StatusBadRequest},
		{"rename", "/dev/users/42", `{"name":"Alice Liddell"}`, http.StatusOK},
		{"add without name", "/dev/users", `{}`, http.StatusBadRequest},
		{"add", "/dev/users", `{"name":"Carol Ann"}`, http.StatusCreated},
		{"add another", "/dev/users", `{"name":"Dan"}`, http.StatusCreated},
		{"DELETE delete unknown user", "/dev/users/7", ``, http.StatusNotFound},
		{"DELETE delete", "/dev/users/45", ``, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodPost
			if strings.HasPrefix(tc.name, "DELETE ") {
				method = http.MethodDelete
			}
			req := mustRequest(t, method, base+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Origin", base) // as the page sends it
			status, body := do(t, req)
			if status != tc.want {
				t.Fatalf("%d %s, want %d", status, body, tc.want)
			}
		})
	}
	_, body := get(t, base+"/dev/users", nil)
	var r struct{ Users []User }
	json.Unmarshal(body, &r)
	want := "[{42 Alice Liddell alice@example.com} {43 Bob bob@example.com} {44 Carol Ann carolann@example.com}]"
	if got := fmt.Sprint(r.Users); got != want {
		t.Errorf("users after the writes: %s, want %s", got, want)
	}
}
