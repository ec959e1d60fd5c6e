package stack

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldrt/herald/infra/testkit"
)

// The README's code blocks: each fenced block with a language follows a
// marker <!-- snippet: NAME --> (indented as the block is) and is run or
// checked by the subtest of TestReadmeSnippets that names it in
// readmeChecks. TestReadmeSnippetsCovered fails on a block without a
// marker and on a marker no check names, so a new snippet needs a test.
var snippetRE = regexp.MustCompile("(?m)^([ \t]*)<!-- snippet: ([a-z0-9-]+) -->\n[ \t]*```[a-z]+\n((?s:.*?))\n[ \t]*```[ \t]*$")

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeSnippets returns the README's marked blocks by name, without the
// indentation of blocks inside list items.
func readmeSnippets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range snippetRE.FindAllStringSubmatch(readme(t), -1) {
		if _, dup := out[m[2]]; dup {
			t.Fatalf("README: snippet %q twice", m[2])
		}
		lines := strings.Split(m[3], "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, m[1])
		}
		out[m[2]] = strings.Join(lines, "\n")
	}
	return out
}

// TestReadmeSnippetsCovered: every fenced block with a language follows a
// snippet marker, and every marker is exercised by one of readmeChecks,
// each of which names only snippets the README has. Blocks without a
// language (the diagram) are not code.
func TestReadmeSnippetsCovered(t *testing.T) {
	lines := strings.Split(readme(t), "\n")
	fence := regexp.MustCompile("^[ \t]*```(\\S*)")
	marker := regexp.MustCompile(`^[ \t]*<!-- snippet: ([a-z0-9-]+) -->$`)
	inside := false
	for i, l := range lines {
		m := fence.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if inside {
			inside = false
			continue
		}
		inside = true
		if m[1] != "" && (i == 0 || !marker.MatchString(lines[i-1])) {
			t.Errorf("README.md:%d: a %s block without a <!-- snippet: NAME --> marker on the line before it, so no test runs it", i+1, m[1])
		}
	}
	snippets := readmeSnippets(t)
	checked := map[string]string{}
	for _, c := range readmeChecks {
		for _, name := range c.snippets {
			if snippets[name] == "" {
				t.Errorf("check %q names snippet %q, which the README does not have", c.name, name)
			}
			checked[name] = c.name
		}
	}
	for name := range snippets {
		if checked[name] == "" {
			t.Errorf("README snippet %q: no check in readmeChecks runs it", name)
		}
	}
	for i, l := range lines {
		if m := marker.FindStringSubmatch(l); m != nil && snippets[m[1]] == "" {
			t.Errorf("README.md:%d: marker %q is not followed by a fenced block with a language", i+1, m[1])
		}
	}
}

// dotenv parses KEY=value lines.
func dotenv(s string) map[string]string {
	vars := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	return vars
}

// localEnv is the README's local .env with the stack's addresses in place
// of the default ones (the test stack listens on free ports).
func localEnv(st *Stack, snippets map[string]string) map[string]string {
	vars := dotenv(snippets["local-env"])
	vars["PUBLISH_PORT"] = port(strings.TrimPrefix(st.URLs().HTTP, "http://"))
	vars["VITE_PUSHER_PORT"] = port(strings.TrimPrefix(st.URLs().Server, "http://"))
	vars["VITE_HERALD_AUTH_ENDPOINT"] = st.URLs().HTTP + "/broadcasting/auth"
	return vars
}

// checkLocalEnv: the local .env holds the stack's own values at the
// default addresses, and every variable the deployed .env sets, whose
// browser key is not the server's.
func checkLocalEnv(t *testing.T, r *readmeRun) {
	st := r.st
	vars := dotenv(r.code(t, "local-env"))
	want := map[string]string{
		"PUBLISH_APP_ID": st.Env("PUBLISH_APP_ID"), "PUBLISH_APP_KEY": st.Env("PUBLISH_APP_KEY"),
		"PUBLISH_APP_SECRET": st.Env("PUBLISH_APP_SECRET"), "AUTH_JWT_SECRET": st.Env("AUTH_JWT_SECRET"),
		"VITE_PUSHER_APP_KEY": st.pageConfig().Key, "PUBLISH_HOST": "127.0.0.1", "VITE_PUSHER_HOST": "127.0.0.1",
		"PUBLISH_PORT": port(DefaultHTTPAddr), "VITE_PUSHER_PORT": port(DefaultServerAddr),
		"VITE_HERALD_AUTH_ENDPOINT": "http://" + DefaultHTTPAddr + "/broadcasting/auth",
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("README local .env: %s=%q, the stack's is %q", k, vars[k], v)
		}
	}
	deployed := dotenv(r.code(t, "laravel-env"))
	for k := range deployed {
		if _, ok := vars[k]; !ok {
			t.Errorf("README local .env lacks %s, which the deployed .env sets", k)
		}
	}
	if strings.Contains(deployed["VITE_PUSHER_APP_KEY"], "PUBLISH_APP_KEY") || strings.Contains(deployed["VITE_PUSHER_APP_KEY"], "PUSHER_APP_KEY") || deployed["PUBLISH_APP_KEY"] == "" {
		t.Errorf("the browser's key and the server's must be set apart: %v", deployed)
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func environ(vars map[string]string) []string {
	env := []string{}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// readmeRun is what the checks of TestReadmeSnippets share: one stack,
// the README's snippets and its local .env with the stack's addresses.
type readmeRun struct {
	st       *Stack
	snippets map[string]string
	vars     map[string]string
	php      string
	// allowed are the snippets the running check declared.
	allowed []string
}

// code returns a snippet the running check declared in readmeChecks.
func (r *readmeRun) code(t *testing.T, name string) string {
	t.Helper()
	if !slices.Contains(r.allowed, name) {
		t.Fatalf("the check uses snippet %q without naming it in readmeChecks", name)
	}
	if r.snippets[name] == "" {
		t.Fatalf("README: no snippet %q", name)
	}
	return r.snippets[name]
}

// readmeCheck is one subtest of TestReadmeSnippets and the README snippets
// it runs or checks.
type readmeCheck struct {
	name     string
	snippets []string
	run      func(t *testing.T, r *readmeRun)
}

// readmeChecks run in this order; the one that changes the stack's secret
// comes last and puts it back.
var readmeChecks = []readmeCheck{
	{"make commands", []string{"make-commands", "quick-start", "make-test"}, checkMakeCommands},
	{"make invoke", []string{"make-invoke"}, checkMakeInvoke},
	{"go sqs fragment", []string{"go-sqs"}, checkGoSQS},
	{"aws cli", []string{"cli-users", "cli-triggers"}, checkAWSCLI},
	{"local env", []string{"local-env", "laravel-env"}, checkLocalEnv},
	{"laravel broadcasting.php", []string{"laravel-broadcasting"}, checkLaravelBroadcasting},
	{"php token", []string{"php-token"}, checkPHPToken},
	{"echo, node token and publish", []string{"echo", "node-token", "node-publish"}, checkEchoNode},
	{"go app", []string{"go-app"}, checkGoApp},
	{"sam parameters", []string{"sam-jwks"}, checkSAMParameters},
	{"envelope", []string{"envelope", "notification"}, checkEnvelope},
	{"stream tables", []string{"stream-tables"}, checkStreamTables},
	{"unoccupied", []string{"unoccupied"}, checkUnoccupied},
	{"channel rules", []string{"channel-rules"}, checkChannelRules},
	{"hosted make dev", []string{"hosted"}, checkHosted},
	{"sam deploy", []string{"sam-deploy"}, checkSAMDeploy},
	{"make smoke", []string{"smoke"}, checkSmoke},
	{"in the browser", []string{"browser-pusher-js", "browser-echo"}, checkBrowser},
	{"secret", []string{"secret-get", "secret-put"}, checkSecret},
}

// TestReadmeSnippets runs or checks every README snippet against one local
// stack: the shell lines through bash with the stack's addresses, the
// PHP token under php-cli (and the AuthFunction accepts it), Laravel's
// broadcasting.php read with the README's .env, the JavaScript under Node,
// the Go with go run, the YAML and JSON through herald's own loaders.
func TestReadmeSnippets(t *testing.T) {
	snippets := readmeSnippets(t)
	st := start(t, nil)
	php, err := exec.LookPath("php")
	if err != nil {
		t.Fatal("php is not installed (apt-get install -y php-cli; .ci/run installs it)")
	}
	vars := localEnv(st, snippets)
	for _, c := range readmeChecks {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, &readmeRun{st: st, snippets: snippets, vars: vars, php: php, allowed: c.snippets})
		})
	}
}

func checkLaravelBroadcasting(t *testing.T, r *readmeRun) {
	st := r.st
	dir := t.TempDir()
	file := filepath.Join(dir, "broadcasting.php")
	os.WriteFile(file, []byte(r.code(t, "laravel-broadcasting")), 0o644)
	main := `<?php
function env($k, $d = null) { $v = getenv($k); return $v === false ? $d : $v; }
echo json_encode((require $argv[1])['connections']['pusher']);
`
	os.WriteFile(filepath.Join(dir, "main.php"), []byte(main), 0o644)
	out := run(t, exec.Command(r.php, filepath.Join(dir, "main.php"), file), r.vars)
	var c struct {
		Key     string `json:"key"`
		Secret  string `json:"secret"`
		AppID   string `json:"app_id"`
		Options struct {
			Host   string `json:"host"`
			Scheme string `json:"scheme"`
		} `json:"options"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("broadcasting.php gave %q: %v", out, err)
	}
	if c.Key != st.Env("PUBLISH_APP_KEY") || c.Secret != st.Env("PUBLISH_APP_SECRET") || c.AppID != st.Env("PUBLISH_APP_ID") ||
		c.Options.Host != "127.0.0.1" || c.Options.Scheme != "http" {
		t.Errorf("the pusher connection is %s, want the stack's publish credentials and address", out)
	}
}

func checkPHPToken(t *testing.T, r *readmeRun) {
	st := r.st
	file := filepath.Join(t.TempDir(), "token.php")
	os.WriteFile(file, []byte(r.code(t, "php-token")+"\necho herald_token(getenv('AUTH_JWT_SECRET'), 42, 'Alice');\n"), 0o644)
	token := strings.TrimSpace(run(t, exec.Command(r.php, file), r.vars))
	for ch, want := range map[string]string{"private-App.Models.User.42": `"auth"`, "presence-online": `Alice`} {
		status, body := authorizeWith(t, st, token, ch)
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("the AuthFunction answered %d %s for %s with the PHP token", status, body, ch)
		}
	}
	if status, _ := authorizeWith(t, st, token, "private-App.Models.User.43"); status != http.StatusForbidden {
		t.Errorf("another user's channel: %d, want 403", status)
	}
}

func checkEchoNode(t *testing.T, r *readmeRun) {
	dir := t.TempDir()
	if err := os.Symlink(testkit.NodeModules(t), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "token.mjs"), []byte(r.code(t, "node-token")), 0o644)
	os.WriteFile(filepath.Join(dir, "publish.mjs"), []byte(r.code(t, "node-publish")), 0o644)
	// Vite replaces import.meta.env at build time; Node reads the
	// same variables from process.env.
	echo := "import { heraldToken } from './token.mjs';\n" +
		"globalThis.window = globalThis;\n" +
		"const userId = 42;\n" +
		"const token = await heraldToken({ id: userId, name: 'Alice' });\n" +
		strings.ReplaceAll(r.code(t, "echo"), "import.meta.env.", "process.env.") + "\n" +
		`const channel = window.Echo.private('App.Models.User.42');
channel.listen('.EmailSent', () => setTimeout(() => process.exit(0), 100));
channel.error((e) => { console.log('subscription error', JSON.stringify(e)); process.exit(1); });
channel.subscribed(() => import('./publish.mjs'));
setTimeout(() => { console.log('timed out'); process.exit(1); }, 30000);
`
	os.WriteFile(filepath.Join(dir, "echo.mjs"), []byte(echo), 0o644)
	out := testkit.RunNode(t, time.Minute, environ(r.vars), filepath.Join(dir, "echo.mjs"))
	if strings.TrimSpace(out) != "Welcome" {
		t.Errorf("the Echo snippet printed %q, want the published subject Welcome", out)
	}
}

func checkGoApp(t *testing.T, r *readmeRun) {
	st := r.st
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ws := subscribe(t, ctx, st, "private-App.Models.User.42")
	defer ws.CloseNow()
	goRun(t, ctx, r.code(t, "go-app"), map[string]string{
		"AWS_ENDPOINT_URL": st.Env("AWS_ENDPOINT_URL"), "AWS_REGION": st.Env("AWS_REGION"),
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"BROADCAST_QUEUE_URL": st.Env("BROADCAST_QUEUE_URL"), "OUTBOX_TABLE": OutboxTable,
	})
	want := map[string]string{"EmailSent": "Welcome", `Illuminate\Notifications\Events\BroadcastNotificationCreated`: `"amount":99`, "EmailRead": `"email":7`}
	// The outbox write's Users update also arrives, as UserUpdated.
	seen := map[string]string{}
	for n := 0; n < len(want); {
		f := read(t, ctx, ws)
		if _, ok := want[f.Event]; ok && seen[f.Event] == "" {
			n++
		}
		seen[f.Event] = f.Data
	}
	for name, w := range want {
		if !strings.Contains(seen[name], w) {
			t.Errorf("%s: got %q, want %s (all: %v)", name, seen[name], w, seen)
		}
	}
}

// goRun runs a Go main package from one file's source with vars as its
// environment.
func goRun(t *testing.T, ctx context.Context, src string, vars map[string]string) string {
	t.Helper()
	// A directory inside the module, so that the program builds with its
	// go.mod; under testdata, so that ./... never sees it.
	testdata := filepath.Join(testkit.RepoRoot(t), "infra", "local", "stack", "testdata")
	os.MkdirAll(testdata, 0o755)
	dir, err := os.MkdirTemp(testdata, "readme-go-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644)
	cmd := exec.CommandContext(ctx, filepath.Join(runtime.GOROOT(), "bin", "go"), "run", ".")
	cmd.Dir = dir
	return run(t, cmd, vars)
}

func checkSAMParameters(t *testing.T, r *readmeRun) {
	params := templateParameters(t)
	for _, m := range regexp.MustCompile(`\b([A-Z][A-Za-z]+)=`).FindAllStringSubmatch(r.code(t, "sam-jwks"), -1) {
		if _, ok := params[m[1]]; !ok {
			t.Errorf("README sam deploy names %s, which template.yaml has no parameter for", m[1])
		}
	}
}

// run runs cmd with vars added to a shell's environment and returns its
// standard output; a failure fails the test with its output.
func run(t *testing.T, cmd *exec.Cmd, vars map[string]string) string {
	t.Helper()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GOTOOLCHAIN=go1.27.3",
		"GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOCACHE=" + goEnv(t, "GOCACHE"), "GOFLAGS=-mod=mod"}, environ(vars)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", cmd, err, out, stderr.String())
	}
	return string(out)
}

func goEnv(t *testing.T, key string) string {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// authorizeWith asks the AuthFunction to sign channel for a made-up socket.
func authorizeWith(t *testing.T, st *Stack, token, channel string) (int, string) {
	t.Helper()
	form := url.Values{"socket_id": {"123.456"}, "channel_name": {channel}}
	req, _ := http.NewRequest("POST", st.URLs().HTTP+"/broadcasting/auth", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// templateParameters are template.yaml's parameters and their
// descriptions.
func templateParameters(t *testing.T) map[string]string {
	t.Helper()
	params := testkit.YAMLPath(testkit.Template(t), "Parameters")
	if params == nil {
		t.Fatal("template.yaml has no Parameters")
	}
	out := map[string]string{}
	for i := 0; i+1 < len(params.Content); i += 2 {
		desc := ""
		if d := testkit.YAMLPath(params.Content[i+1], "Description"); d != nil {
			desc = d.Value
		}
		out[params.Content[i].Value] = desc
	}
	return out
}

// TestReadmeDeployParameters keeps the README's parameter table and
// template.yaml's parameters in step: every parameter has a Description
// (what `sam deploy --guided` shows) and a row with its default.
func TestReadmeDeployParameters(t *testing.T) {
	text := readme(t)
	start := strings.Index(text, "\n## Deploy\n")
	if start < 0 {
		t.Fatal("README has no ## Deploy section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z0-9]+)` \\| ([^|]*) \\|").FindAllStringSubmatch(section, -1) {
		rows[m[1]] = strings.TrimSpace(m[2])
	}
	params := testkit.YAMLPath(testkit.Template(t), "Parameters")
	for i := 0; i+1 < len(params.Content); i += 2 {
		name, p := params.Content[i].Value, params.Content[i+1]
		if d := testkit.YAMLPath(p, "Description"); d == nil || strings.TrimSpace(d.Value) == "" {
			t.Errorf("template.yaml: parameter %s has no Description", name)
		}
		row, ok := rows[name]
		if !ok {
			t.Errorf("README ## Deploy: no row for parameter %s", name)
			continue
		}
		want := "(empty)"
		if d := testkit.YAMLPath(p, "Default"); d != nil && d.Value != "" {
			want = "`" + d.Value + "`"
		}
		if row != want {
			t.Errorf("README ## Deploy: %s's default is %s, template.yaml's %s", name, row, want)
		}
		delete(rows, name)
	}
	for name := range rows {
		t.Errorf("README ## Deploy: a row for %s, which template.yaml does not have", name)
	}
	for _, want := range []string{"aws secretsmanager get-secret-value --secret-id <ProviderSecretArn> --query SecretString --output text", "make smoke API=", "(#security)", "make build-<LogicalId>"} {
		if !strings.Contains(section, want) {
			t.Errorf("README ## Deploy lacks %q", want)
		}
	}
}
