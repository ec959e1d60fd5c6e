package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/functions/auth"
	"github.com/heraldrt/herald/functions/auth/rules"
	"github.com/heraldrt/herald/functions/stream"
	"github.com/heraldrt/herald/infra/moto"
	"github.com/heraldrt/herald/infra/testkit"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
)

// The README's addresses are make dev's defaults; the test stack listens on
// free ports, so its lines run with the stack's in their place.
var (
	readmeAWS  = "http://" + DefaultAWSAddr
	readmeHTTP = "http://" + DefaultHTTPAddr
)

// commands are a shell snippet's commands: comments and blank lines left
// out, continued lines joined.
func commands(code string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(code, "\\\n", " "), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// withoutComment is a command without its trailing # comment.
func withoutComment(line string) string {
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	return strings.TrimSpace(line)
}

// bash runs line with bash in dir, with only vars and PATH in its
// environment (no AWS profile of the machine's), and returns its
// standard output.
func bash(t *testing.T, ctx context.Context, dir, line string, vars map[string]string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir = dir
	env := map[string]string{"HOME": t.TempDir(), "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull}
	for k, v := range vars {
		env[k] = v
	}
	return run(t, cmd, env)
}

// awsEnv is what the AWS CLI needs to reach the stack's moto: the README's
// credential variables and, for the deployed commands, the endpoint.
func awsEnv(st *Stack) map[string]string {
	return map[string]string{"AWS_ACCESS_KEY_ID": moto.AccessKeyID, "AWS_SECRET_ACCESS_KEY": moto.SecretAccessKey,
		"AWS_ENDPOINT_URL": st.URLs().AWS, "AWS_DEFAULT_REGION": moto.Region, "AWS_REGION": moto.Region}
}

// makeDryRun is what `make -n -B target` would run, from the repository.
func makeDryRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-n", "-B"}, args...)...)
	cmd.Dir = dir
	return run(t, cmd, nil)
}

// checkMakeCommands: `make dev` installs the locked npm packages, then
// runs the stack; `make test` installs them, checks formatting and vet and
// runs every test (dry runs: make test would run this test too); the
// quick start's clone has what make dev needs.
func checkMakeCommands(t *testing.T, r *readmeRun) {
	root := testkit.RepoRoot(t)
	want := map[string][]string{
		"make dev":  {"npm ci", "import moto.server", "go run ./infra/local"},
		"make test": {"npm ci", "import moto.server", "gofmt -l", "go vet ./...", "go test -count=1 -timeout 30m ./..."},
	}
	check := func(dir, line string) {
		cmd := withoutComment(line)
		if want[cmd] == nil {
			t.Errorf("README: %q: no check for this command", line)
			return
		}
		out := makeDryRun(t, dir, strings.TrimPrefix(cmd, "make "))
		for _, w := range want[cmd] {
			if !strings.Contains(out, w) {
				t.Errorf("%s does not run %q:\n%s", cmd, w, out)
			}
		}
	}
	for _, name := range []string{"make-commands", "make-test"} {
		for _, line := range commands(r.code(t, name)) {
			check(root, line)
		}
	}

	lines := commands(r.code(t, "quick-start"))
	if len(lines) != 2 || !strings.Contains(lines[0], "git clone <this repository> herald && cd herald") {
		t.Fatalf("quick start %q: want the clone line, then make dev", lines)
	}
	// The clone of this repository's committed state, and make dev's dry
	// run in it.
	dir := t.TempDir()
	bash(t, context.Background(), dir, strings.Replace(lines[0], "<this repository>", root, 1), nil)
	check(filepath.Join(dir, "herald"), lines[1])
}

// checkMakeInvoke runs the README's make invoke lines against the stack
// (its addresses in DEV_FLAGS, as for a make dev started with them): the
// email sample is broadcast, the Users MODIFY sample becomes UserUpdated,
// the publish sample is accepted and broadcast.
func checkMakeInvoke(t *testing.T, r *readmeRun) {
	st := r.st
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ws := subscribe(t, ctx, st, UserChannelPrefix+"42")
	defer ws.CloseNow()
	flags := fmt.Sprintf(` DEV_FLAGS="-http %s -server %s -aws %s"`, strings.TrimPrefix(st.URLs().HTTP, "http://"),
		strings.TrimPrefix(st.URLs().Server, "http://"), strings.TrimPrefix(st.URLs().AWS, "http://"))
	want := map[string]struct{ answer, event, data string }{
		"QueueFunction":  {`"batchItemFailures":[]`, EmailEvent, "Welcome to herald"},
		"StreamFunction": {`"batchItemFailures":[]`, "UserUpdated", `"unread_emails":4`},
		// Signed again with the stack's publish credentials.
		"PublishFunction": {`"statusCode":200`, EmailEvent, "Welcome to herald"},
	}
	lines := commands(r.code(t, "make-invoke"))
	if len(lines) != len(want) {
		t.Errorf("README make invoke lines %q: want one per function of %v", lines, want)
	}
	for _, line := range lines {
		m := regexp.MustCompile(`FN=(\w+)`).FindStringSubmatch(line)
		if m == nil || want[m[1]].event == "" {
			t.Errorf("README: %q: no check for this function", line)
			continue
		}
		out := bash(t, ctx, testkit.RepoRoot(t), line+flags, nil)
		if !strings.Contains(out, want[m[1]].answer) {
			t.Errorf("%s answered %s", line, out)
		}
		if f := readUntil(t, ctx, ws, want[m[1]].event); !strings.Contains(f.Data, want[m[1]].data) {
			t.Errorf("%s: %s %s, want %s", line, f.Event, f.Data, want[m[1]].data)
		}
	}
}

// checkGoSQS builds the quick start's aws-sdk-go-v2 fragment into a
// program and runs it with the variables the README says to export: its
// message arrives. It is also what the banner prints.
func checkGoSQS(t *testing.T, r *readmeRun) {
	st := r.st
	code := r.code(t, "go-sqs")
	queue := readmeAWS + "/" + moto.AccountID + "/" + QueueName
	if strings.TrimSpace(code) != strings.TrimSpace(sdkSnippet(queue)) {
		t.Errorf("the README's fragment is not the banner's:\n%s\nbanner:\n%s", code, sdkSnippet(queue))
	}
	if want := strings.Replace(queue, readmeAWS, st.URLs().AWS, 1); want != st.URLs().Queue {
		t.Fatalf("the README's queue URL %s is not the stack's %s at the default address", queue, st.URLs().Queue)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ws := subscribe(t, ctx, st, UserChannelPrefix+"42")
	defer ws.CloseNow()
	src := `package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func main() {
	if err := send(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func send(ctx context.Context) error {
` + indent(strings.Replace(code, queue, st.URLs().Queue, 1)+"\n", "\t") + "\treturn err\n}\n"
	vars := awsEnv(st)
	delete(vars, "AWS_DEFAULT_REGION")
	vars["AWS_CONFIG_FILE"], vars["AWS_SHARED_CREDENTIALS_FILE"] = os.DevNull, os.DevNull
	goRun(t, ctx, src, vars)
	if f := readUntil(t, ctx, ws, EmailEvent); !strings.Contains(f.Data, `"subject":"Hi"`) {
		t.Errorf("EmailSent data %s, want the fragment's subject Hi", f.Data)
	}
}

// checkAWSCLI runs the quick start's AWS CLI lines with the stack's
// endpoint: the Users row arrives as UserCreated, and the envelope through
// SNS, EventBridge and the outbox as EmailSent, each with its subject.
func checkAWSCLI(t *testing.T, r *readmeRun) {
	st := r.st
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	local := func(line string) string { return strings.ReplaceAll(line, readmeAWS, st.URLs().AWS) }

	users := commands(r.code(t, "cli-users"))
	if len(users) != 1 || users[0] != putItemCommand(readmeAWS) {
		t.Errorf("the README's put-item %q is not the banner's %q", users, putItemCommand(readmeAWS))
	}
	ws44 := subscribe(t, ctx, st, UserChannelPrefix+"44")
	defer ws44.CloseNow()
	for _, line := range users {
		// The line sets its own credentials: nothing else is given.
		bash(t, ctx, t.TempDir(), local(line), nil)
		if f := readUntil(t, ctx, ws44, "UserCreated"); !strings.Contains(f.Data, `"name":"Carol"`) {
			t.Errorf("UserCreated data %s, want Carol", f.Data)
		}
	}

	ws42 := subscribe(t, ctx, st, UserChannelPrefix+"42")
	defer ws42.CloseNow()
	vars := map[string]string{"AWS_ACCESS_KEY_ID": moto.AccessKeyID, "AWS_SECRET_ACCESS_KEY": moto.SecretAccessKey}
	want := map[string]string{"sns": "via SNS", "events": "via EventBridge", "dynamodb": "via the outbox"}
	lines := commands(r.code(t, "cli-triggers"))
	if len(lines) != len(want) {
		t.Errorf("README: %d trigger lines, want SNS, EventBridge and the outbox", len(lines))
	}
	for _, line := range lines {
		service := strings.Fields(line)[1]
		if want[service] == "" {
			t.Errorf("README: %q: no check for this line", line)
			continue
		}
		bash(t, ctx, t.TempDir(), local(line), vars)
		if f := readUntil(t, ctx, ws42, EmailEvent); !strings.Contains(f.Data, want[service]) {
			t.Errorf("%s: EmailSent data %s, want %q", service, f.Data, want[service])
		}
	}
}

// pusherLimits are the pusher driver's limits, which the envelopes are
// validated against.
func pusherLimits(t *testing.T) broadcast.Limits {
	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: "1", Key: "k", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return d.Limits()
}

// sendBody puts a trigger body on the stack's broadcast queue.
func sendBody(t *testing.T, ctx context.Context, st *Stack, body string) {
	t.Helper()
	_, err := sqs.NewFromConfig(st.AWSConfig()).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(st.URLs().Queue), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
}

// checkEnvelope parses the envelope and the notification with package
// events, as the functions do, checks the variants and the refusal the
// prose shows, and sends both through the queue to a subscriber.
func checkEnvelope(t *testing.T, r *readmeRun) {
	st := r.st
	lim := pusherLimits(t)
	code := r.code(t, "envelope")
	envs, err := events.Parse([]byte(code), lim)
	if err != nil || len(envs) != 1 {
		t.Fatalf("the envelope: %v, %d envelopes", err, len(envs))
	}
	e := envs[0]
	if p, _ := e.Payload(); e.Name != EmailEvent || !slices.Equal(e.Channels, []string{UserChannelPrefix + "42"}) || e.SocketID != "123.456" || e.ID != "email-7" || p != `{"subject": "Welcome"}` && p != `{"subject":"Welcome"}` {
		t.Errorf("the envelope reads as %+v, payload %s", e, p)
	}
	// "channel (one) is accepted as well as channels"; a batch.
	one := strings.Replace(code, `"channels": ["private-App.Models.User.42"]`, `"channel": "private-App.Models.User.42"`, 1)
	if envs, err := events.Parse([]byte(one), lim); err != nil || one == code || !slices.Equal(envs[0].Channels, e.Channels) {
		t.Errorf("the one-channel spelling: %v", err)
	}
	if envs, err := events.Parse([]byte(`{"batch": [`+code+`, `+code+`]}`), lim); err != nil || len(envs) != 2 {
		t.Errorf("a batch of two: %v, %d envelopes", err, len(envs))
	}
	// The refusal the README quotes.
	m := regexp.MustCompile("example `(channels\\[2\\]: [^`]+)`").FindStringSubmatch(readme(t))
	if m == nil {
		t.Fatal("README: the example refusal is gone")
	}
	if _, err := events.Parse([]byte(`{"name":"EmailSent","channels":["a","b","private-a b"],"data":{}}`), lim); err == nil || err.Error() != m[1] {
		t.Errorf("a bad channel is refused with %q, the README says %q", err, m[1])
	}

	notification := r.code(t, "notification")
	envs, err = events.Parse([]byte(notification), lim)
	if err != nil || len(envs) != 1 {
		t.Fatalf("the notification: %v", err)
	}
	n := envs[0]
	p, _ := n.Payload()
	var payload map[string]any
	json.Unmarshal([]byte(p), &payload)
	if n.Name != `Illuminate\Notifications\Events\BroadcastNotificationCreated` || !slices.Equal(n.Channels, []string{UserChannelPrefix + "42"}) ||
		payload["id"] != "9f1c…" || payload["type"] != `App\Notifications\EmailSent` || payload["subject"] != "Welcome" {
		t.Errorf("the notification reads as %s on %v, payload %s", n.Name, n.Channels, p)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws := subscribe(t, ctx, st, UserChannelPrefix+"42")
	defer ws.CloseNow()
	sendBody(t, ctx, st, code)
	if f := readUntil(t, ctx, ws, EmailEvent); !strings.Contains(f.Data, "Welcome") {
		t.Errorf("the envelope arrived as %s", f.Data)
	}
	sendBody(t, ctx, st, notification)
	if f := readUntil(t, ctx, ws, n.Name); !strings.Contains(f.Data, `"type":"App\\Notifications\\EmailSent"`) {
		t.Errorf("the notification arrived as %s", f.Data)
	}
}

// checkStreamTables loads the YAML with the StreamFunction's own loader,
// with its commented options switched on too, and runs the StreamFunction
// configured with it on the Users INSERT sample: UserCreated arrives on
// the user's channel without the hidden attributes.
func checkStreamTables(t *testing.T, r *readmeRun) {
	st := r.st
	code := r.code(t, "stream-tables")
	ts, err := stream.ParseTables([]byte(code))
	if err != nil {
		t.Fatal(err)
	}
	u, o := ts["Users"], ts["Outbox"]
	if u.Mode != "model" || u.Model != "User" || !slices.Equal(u.Channels, []string{"private-App.Models.User.{id}"}) ||
		!slices.Equal(u.Hidden, []string{"password", "remember_token"}) || len(u.Only) != 0 || o.Mode != "outbox" || o.Attribute != "" || len(ts) != 2 {
		t.Errorf("the tables read as %+v", ts)
	}
	on := strings.NewReplacer("# only:", "only:", "# attribute:", "attribute:").Replace(code)
	if ts, err := stream.ParseTables([]byte(on)); err != nil || !slices.Equal(ts["Users"].Only, []string{"id", "name", "email"}) || ts["Outbox"].Attribute != "envelope" {
		t.Errorf("with the optional lines: %+v, %v", ts, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws := subscribe(t, ctx, st, UserChannelPrefix+"42")
	defer ws.CloseNow()
	sample, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "events", "samples", "dynamodb-users-insert.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := InvokeConfig{
		HTTPAddr: strings.TrimPrefix(st.URLs().HTTP, "http://"), ServerAddr: strings.TrimPrefix(st.URLs().Server, "http://"),
		AWSAddr: strings.TrimPrefix(st.URLs().AWS, "http://"),
		Lookup:  config.Map(map[string]string{"STREAM_TABLES": code}),
	}
	if out, err := Invoke(ctx, cfg, "StreamFunction", sample); err != nil || !strings.Contains(string(out), `"batchItemFailures":[]`) {
		t.Fatalf("the StreamFunction with the README's tables: %s, %v", out, err)
	}
	f := readUntil(t, ctx, ws, "UserCreated")
	if !strings.Contains(f.Data, `"name":"Alice"`) || strings.Contains(f.Data, "password") || strings.Contains(f.Data, "remember_token") {
		t.Errorf("UserCreated data %s: want Alice without the hidden attributes", f.Data)
	}
}

// checkUnoccupied parses the example and sends it: user 43 has no tab
// open, so BroadcastUndelivered reaches the fallback queue in the shape the
// README gives.
func checkUnoccupied(t *testing.T, r *readmeRun) {
	st := r.st
	code := r.code(t, "unoccupied")
	envs, err := events.Parse([]byte(code), pusherLimits(t))
	if err != nil || len(envs) != 1 || envs[0].Unoccupied != events.UnoccupiedFallback || !slices.Equal(envs[0].Channels, []string{UserChannelPrefix + "43"}) {
		t.Fatalf("the example reads as %+v, %v", envs, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sendBody(t, ctx, st, code)
	var got struct {
		Event    string          `json:"event"`
		Channels []string        `json:"channels"`
		Envelope json.RawMessage `json:"envelope"`
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		fbs, err := st.Fallbacks(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, fb := range fbs {
			if json.Unmarshal(fb.Body, &got) == nil && strings.Contains(string(got.Envelope), "Welcome") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("fallbacks %v", fbs)
	})
	if got.Event != "BroadcastUndelivered" || !slices.Equal(got.Channels, []string{UserChannelPrefix + "43"}) {
		t.Errorf("the fallback is %+v", got)
	}
}

// checkChannelRules compiles the rules with the AuthFunction's own loader
// and asks them what each comment says.
func checkChannelRules(t *testing.T, r *readmeRun) {
	set, err := rules.Parse([]byte(r.code(t, "channel-rules")), "README")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	alice := map[string]any{"sub": "42", "name": "Alice", "rooms": []any{"lobby"}}
	for _, tc := range []struct {
		channel string
		allowed bool
	}{
		{"private-App.Models.User.42", true},
		{"presence-App.Models.User.42", true},
		{"private-App.Models.User.43", false},
		{"presence-chat.lobby", true},
		{"presence-chat.kitchen", false}, // not one of her rooms
		{"private-chat.lobby", false},    // kinds: presence only
		{"presence-online", true},
		{"private-online", true},
	} {
		if d := set.Authorize(ctx, tc.channel, alice); d.Allowed != tc.allowed {
			t.Errorf("%s: allowed %t (%s), want %t", tc.channel, d.Allowed, d.Reason, tc.allowed)
		}
	}
	d := set.Authorize(ctx, "presence-chat.lobby", alice)
	if d.Member.ID != "42" || d.Member.Info["name"] != "Alice" {
		t.Errorf("the chat member is %+v, want id 42 with her name", d.Member)
	}
	if m, err := set.User(ctx, alice); err != nil || m.ID != "42" {
		t.Errorf("sign-in: %+v, %v; want id 42", m, err)
	}
}

// checkHosted reads each hosted make dev line's variables (the "..."
// replaced by made-up credentials) the way make dev does, and checks what
// the README says: the driver reaches the hosted service (no embedded
// host), the page connects pusher-js to Pusher by cluster or to Ably's
// adapter with the key's name, and the public local JWT and publish
// secrets are replaced by random ones. Nothing is sent anywhere.
func checkHosted(t *testing.T, r *readmeRun) {
	made := map[string]string{"PUSHER_APP_ID": "1234567", "PUSHER_APP_KEY": "0123456789abcdef0123", "PUSHER_APP_SECRET": "fedcba9876543210fedc"}
	lines := commands(r.code(t, "hosted"))
	seen := map[string]bool{}
	for _, line := range lines {
		fields := strings.Fields(line)
		vars := map[string]string{}
		for len(fields) > 0 && strings.Contains(fields[0], "=") {
			k, v, _ := strings.Cut(fields[0], "=")
			if v == "..." {
				v = made[k]
			}
			vars[k] = v
			fields = fields[1:]
		}
		if !slices.Equal(fields, []string{"make", "dev"}) {
			t.Errorf("README: %q does not end in make dev", line)
		}
		e := newEnv(config.Map(vars), DefaultHTTPAddr, DefaultServerAddr, readmeAWS, resources{})
		if err := e.checkCredentials(); err != nil {
			t.Errorf("%s: %v", line, err)
		}
		e.guardSecrets()
		for _, k := range guardedSecrets {
			if e.source(k) != sourceGenerated {
				t.Errorf("%s: %s is not generated for the run", line, k)
			}
		}
		if e.Embedded(DefaultServerAddr) {
			t.Errorf("%s: the driver publishes to the embedded server", line)
		}
		cfg, err := broadcast.LoadConfig(e.Lookup)
		if err != nil {
			t.Errorf("%s: %v", line, err)
		}
		pc := (&Stack{env: e}).pageConfig()
		conn := vars["BROADCAST_CONNECTION"]
		seen[conn] = true
		switch conn {
		case "pusher":
			p := cfg.Pusher
			if p.AppID != made["PUSHER_APP_ID"] || p.Key != made["PUSHER_APP_KEY"] || p.Secret != made["PUSHER_APP_SECRET"] || p.Cluster != "eu" || p.Host != "" {
				t.Errorf("%s: the pusher driver reads %+v", line, p)
			}
			if pc.Key != made["PUSHER_APP_KEY"] || pc.Cluster != "eu" || pc.WSHost != "" || !pc.ForceTLS {
				t.Errorf("%s: the page connects with %+v, want Pusher's cluster eu over TLS", line, pc)
			}
		case "ably":
			name, _, _ := strings.Cut(vars["ABLY_KEY"], ":")
			if cfg.Ably.Key != vars["ABLY_KEY"] || cfg.Ably.Host != "" {
				t.Errorf("%s: the ably driver reads %+v", line, cfg.Ably)
			}
			if pc.Key != name || pc.WSHost != ablyPusherHost || pc.WSPort != 443 || !pc.ForceTLS {
				t.Errorf("%s: the page connects with %+v, want Ably's adapter with the key's name %s", line, pc, name)
			}
		default:
			t.Errorf("README: %q: no check for BROADCAST_CONNECTION %q", line, conn)
		}
	}
	if !seen["pusher"] || !seen["ably"] {
		t.Errorf("README hosted lines %q: want one for Pusher and one for Ably", lines)
	}
}

// checkSAMDeploy checks what sam build and sam deploy rely on without the
// SAM CLI: each function is built by `make build-<LogicalId>` (an arm64
// bootstrap with the README's flags, from a package that exists) for the
// provided.al2023 arm64 runtime, and make deploy runs sam.
func checkSAMDeploy(t *testing.T, r *readmeRun) {
	lines := commands(r.code(t, "sam-deploy"))
	if len(lines) != 1 || withoutComment(lines[0]) != "sam build && sam deploy --guided" || !strings.Contains(lines[0], "then: make deploy") {
		t.Errorf("README deploy lines %q", lines)
	}
	root := testkit.RepoRoot(t)
	tmpl := testkit.Template(t)
	if rt := testkit.YAMLPath(tmpl, "Globals", "Function", "Runtime"); rt == nil || rt.Value != "provided.al2023" {
		t.Errorf("template.yaml's runtime is not provided.al2023")
	}
	if a := testkit.YAMLPath(tmpl, "Globals", "Function", "Architectures"); a == nil || len(a.Content) != 1 || a.Content[0].Value != "arm64" {
		t.Errorf("template.yaml's architecture is not arm64")
	}
	res := testkit.YAMLPath(tmpl, "Resources")
	var functions []string
	for i := 0; i+1 < len(res.Content); i += 2 {
		id, v := res.Content[i].Value, res.Content[i+1]
		if ty := testkit.YAMLPath(v, "Type"); ty == nil || ty.Value != "AWS::Serverless::Function" {
			continue
		}
		functions = append(functions, id)
		if bm := testkit.YAMLPath(v, "Metadata", "BuildMethod"); bm == nil || bm.Value != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod is not makefile", id)
		}
		if cu := testkit.YAMLPath(v, "Properties", "CodeUri"); cu == nil || cu.Value != "." {
			t.Errorf("%s: CodeUri is not the directory of the Makefile", id)
		}
		artifacts := t.TempDir()
		out := makeDryRun(t, root, "build-"+id, "ARTIFACTS_DIR="+artifacts)
		m := regexp.MustCompile(`\./functions/(\w+)/bootstrap`).FindStringSubmatch(out)
		if !strings.Contains(out, "GOOS=linux GOARCH=arm64") || !strings.Contains(out, `-tags lambda.norpc -trimpath -ldflags="-s -w"`) ||
			!strings.Contains(out, "-o "+artifacts+"/bootstrap") || m == nil {
			t.Errorf("make build-%s runs:\n%s", id, out)
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "functions", m[1], "bootstrap", "main.go")); err != nil {
			t.Errorf("make build-%s builds ./functions/%s/bootstrap: %v", id, m[1], err)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(functions)), slices.Sorted(slices.Values(LogicalIDs))) {
		t.Errorf("template.yaml's functions %v, the local stack's %v", functions, LogicalIDs)
	}
	if out := makeDryRun(t, root, "deploy"); !strings.Contains(out, "sam build") || !strings.Contains(out, "sam deploy") {
		t.Errorf("make deploy runs:\n%s", out)
	}
}

// checkSmoke runs the README's make smoke line against the stack: the
// placeholders replaced by the stack's values and WS_HOST added, which
// wins over PUSHER_CLUSTER (no hosted Pusher here). The line's values that
// are not placeholders are template.yaml's defaults, and every variable it
// sets is one the smoke script reads.
func checkSmoke(t *testing.T, r *readmeRun) {
	st := r.st
	lines := commands(r.code(t, "smoke"))
	if len(lines) != 1 {
		t.Fatalf("README smoke lines %q", lines)
	}
	rest, ok := strings.CutPrefix(lines[0], "make smoke ")
	if !ok {
		t.Fatalf("README: %q is not make smoke", lines[0])
	}
	// KEY=value or KEY=<placeholder, with spaces>.
	fields := regexp.MustCompile(`\S+=(?:<[^>]*>|\S+)`).FindAllString(rest, -1)
	if got := strings.Join(fields, " "); got != strings.Join(strings.Fields(rest), " ") {
		t.Fatalf("README make smoke: %q reads as %q", rest, got)
	}
	script, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "infra", "node", "scripts", "smoke.js"))
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{"PUBLISH_APP_ID": templateDefault(t, "PublishAppId"), "PUBLISH_APP_KEY": templateDefault(t, "PublishAppKey")}
	local := map[string]string{
		"API": st.URLs().HTTP + "/", "PUBLISH_APP_ID": st.Env("PUBLISH_APP_ID"), "PUBLISH_APP_KEY": st.Env("PUBLISH_APP_KEY"),
		"PUBLISH_APP_SECRET": st.Env("PUBLISH_APP_SECRET"), "AUTH_JWT_SECRET": st.Env("AUTH_JWT_SECRET"), "PUSHER_KEY": st.pageConfig().Key,
	}
	args := []string{"-s", "smoke"}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !strings.Contains(string(script), "env."+k) {
			t.Errorf("README make smoke sets %s, which smoke.js does not read", f)
			continue
		}
		if d, ok := defaults[k]; ok && v != d {
			t.Errorf("README make smoke: %s, template.yaml's default is %s", f, d)
		}
		if s, ok := local[k]; ok {
			v = s
		}
		args = append(args, k+"="+v)
	}
	args = append(args, "WS_HOST="+strings.TrimPrefix(st.URLs().Server, "http://"), "TIMEOUT_MS=20000")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	testkit.NodeModules(t)
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = testkit.RepoRoot(t)
	out := run(t, cmd, nil)
	if !strings.Contains(out, "smoke: OK") {
		t.Errorf("make smoke:\n%s", out)
	}
}

// templateDefault is a template.yaml parameter's default.
func templateDefault(t *testing.T, name string) string {
	d := testkit.YAMLPath(testkit.Template(t), "Parameters", name, "Default")
	if d == nil {
		t.Fatalf("template.yaml: %s has no default", name)
	}
	return d.Value
}

// checkBrowser runs the pusher-js and Echo blocks of "In the browser"
// under Node against the stack. The only changes: the stack's key for
// 'your-pusher-key', the stack's address for the deployed API's, and the
// embedded server's host and port (wsHost, wsPort, no TLS) added after
// cluster 'eu'. token is /dev/token's for Alice and showToast prints. One
// event published with the npm pusher package reaches both listeners, and
// Echo's presence channel lists Alice.
func checkBrowser(t *testing.T, r *readmeRun) {
	st := r.st
	pc := st.pageConfig()
	deployed := "https://abc123.execute-api.eu-west-1.amazonaws.com"
	server := fmt.Sprintf("cluster: 'eu', wsHost: '%s', wsPort: %d, forceTLS: false, enabledTransports: ['ws'],", pc.WSHost, pc.WSPort)
	local := strings.NewReplacer("'your-pusher-key'", strconv.Quote(pc.Key), deployed, st.URLs().HTTP, "cluster: 'eu',", server, "forceTLS: true,", "")
	dir := t.TempDir()
	if err := os.Symlink(testkit.NodeModules(t), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"browser-pusher-js": "pusherjs.mjs", "browser-echo": "echo.mjs"} {
		code := r.code(t, name)
		if !strings.Contains(code, deployed) || !strings.Contains(code, "'your-pusher-key'") || !strings.Contains(code, "cluster: 'eu',") {
			t.Fatalf("README %s: the addresses this test replaces are gone:\n%s", name, code)
		}
		os.WriteFile(filepath.Join(dir, file), []byte(local.Replace(code)+"\nexport { "+map[string]string{"pusherjs.mjs": "pusher", "echo.mjs": "echo"}[file]+" };\n"), 0o644)
	}
	main := `setTimeout(() => { console.log('timed out: ' + JSON.stringify({ toasts, here })); process.exit(1); }, 30000);
import Server from 'pusher';
const base = process.env.BASE_URL;
globalThis.token = (await (await fetch(base + '/dev/token?sub=42&name=Alice')).json()).token;
let toasts = 0, here = null;
const done = () => { if (toasts === 2 && here) { console.log(JSON.stringify({ toasts, here })); process.exit(0); } };
globalThis.showToast = (subject) => { console.log('toast ' + subject); toasts++; done(); };
const { pusher } = await import('./pusherjs.mjs');
const { echo } = await import('./echo.mjs');
echo.join('online').here((users) => { here = users.map((u) => u.name); done(); });
// Both connections' pusher-js channels; either may be subscribed already.
const subscribed = (ch) => new Promise((resolve, reject) => {
  if (ch.subscribed) resolve();
  ch.bind('pusher:subscription_succeeded', resolve);
  ch.bind('pusher:subscription_error', reject);
});
await Promise.all([pusher, echo.connector.pusher].map((p) => subscribed(p.channel('private-App.Models.User.42'))));
const url = new URL(base);
await new Server({ appId: process.env.PUBLISH_APP_ID, key: process.env.PUBLISH_APP_KEY, secret: process.env.PUBLISH_APP_SECRET, host: url.hostname, port: url.port, useTLS: false })
  .trigger('private-App.Models.User.42', 'EmailSent', { subject: 'From the browser section' });
`
	os.WriteFile(filepath.Join(dir, "main.mjs"), []byte(main), 0o644)
	out := testkit.RunNode(t, time.Minute, []string{"BASE_URL=" + st.URLs().HTTP, "PUBLISH_APP_ID=" + st.Env("PUBLISH_APP_ID"),
		"PUBLISH_APP_KEY=" + st.Env("PUBLISH_APP_KEY"), "PUBLISH_APP_SECRET=" + st.Env("PUBLISH_APP_SECRET")}, filepath.Join(dir, "main.mjs"))
	lines := testkit.Lines(out)
	var res struct {
		Toasts int
		Here   []string
	}
	if len(lines) == 0 || json.Unmarshal([]byte(lines[len(lines)-1]), &res) != nil || res.Toasts != 2 || !slices.Contains(res.Here, "Alice") ||
		strings.Count(out, "toast From the browser section") != 2 {
		t.Errorf("the browser snippets printed:\n%s\nwant two toasts with the subject and Alice online", out)
	}
}

// checkSecret runs the README's get-secret-value and put-secret-value
// against the stack's provider secret in moto (the ARN and the endpoint
// given; the "..." and <...> placeholders replaced by made-up values and
// the generated PUBLISH_APP_SECRET), then reads it back the way the
// functions do at cold start: every key reaches the configuration, the
// pusher driver and the AuthFunction accept them. The secret's earlier
// value is put back.
func checkSecret(t *testing.T, r *readmeRun) {
	st := r.st
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	arn := st.res.SecretARN
	vars := awsEnv(st)

	get := commands(r.code(t, "secret-get"))
	if len(get) != 1 {
		t.Fatalf("README get-secret-value lines %q", get)
	}
	out := bash(t, ctx, t.TempDir(), strings.Replace(get[0], "<ProviderSecretArn>", arn, 1), vars)
	var current map[string]string
	if err := json.Unmarshal([]byte(out), &current); err != nil {
		t.Fatalf("get-secret-value printed %q: %v", out, err)
	}
	sm := secretsmanager.NewFromConfig(st.AWSConfig())
	t.Cleanup(func() {
		if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(strings.TrimSpace(out))}); err != nil {
			t.Errorf("putting the secret back: %v", err)
		}
	})
	// The secret holds template.yaml's keys.
	tmpl := testkit.YAMLPath(testkit.Template(t), "Resources", "ProviderSecret", "Properties", "GenerateSecretString")
	var keys map[string]string
	if err := json.Unmarshal([]byte(testkit.YAMLPath(tmpl, "SecretStringTemplate").Value), &keys); err != nil {
		t.Fatal(err)
	}
	keys[testkit.YAMLPath(tmpl, "GenerateStringKey").Value] = ""
	for k := range keys {
		if _, ok := current[k]; !ok {
			t.Errorf("the secret lacks %s, which template.yaml's holds", k)
		}
	}

	put := commands(r.code(t, "secret-put"))
	if len(put) != 1 {
		t.Fatalf("README put-secret-value lines %q", put)
	}
	made := map[string]string{"PUSHER_APP_ID": "1234567", "PUSHER_APP_KEY": "0123456789abcdef0123", "PUSHER_APP_SECRET": "fedcba9876543210fedc"}
	line := regexp.MustCompile(`"([A-Z_]+)":"\.\.\."`).ReplaceAllStringFunc(put[0], func(s string) string {
		k := strings.Trim(strings.Split(s, ":")[0], `"`)
		return fmt.Sprintf("%q:%q", k, made[k])
	})
	jwt := "a-jwt-secret-of-more-than-32-bytes-0123456789"
	line = strings.NewReplacer("<ProviderSecretArn>", arn, "<32 bytes or more>", jwt, "<keep the generated one>", current["PUBLISH_APP_SECRET"]).Replace(line)
	if strings.ContainsAny(line, "<>") || strings.Contains(line, "...") {
		t.Fatalf("a placeholder this test does not know: %s", line)
	}
	bash(t, ctx, t.TempDir(), line, vars)

	lookup, err := config.WithSecret(ctx, config.Map(map[string]string{config.SecretARNVar: arn, "BROADCAST_CONNECTION": "pusher"}), sm)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"PUSHER_APP_CLUSTER": "eu", "AUTH_JWT_SECRET": jwt, "PUBLISH_APP_SECRET": current["PUBLISH_APP_SECRET"]}
	for k, v := range made {
		want[k] = v
	}
	for k, v := range want {
		if lookup.Get(k) != v {
			t.Errorf("after put-secret-value the functions read %s=%q, want %q", k, lookup.Get(k), v)
		}
	}
	cfg, err := broadcast.LoadConfig(lookup)
	if err != nil || cfg.Pusher.Key != made["PUSHER_APP_KEY"] || cfg.Pusher.Cluster != "eu" {
		t.Errorf("the pusher driver reads %+v, %v", cfg.Pusher, err)
	}
	if _, err := auth.FromEnv(ctx, lookup, auth.Deps{Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Errorf("the AuthFunction refuses the secret's values: %v", err)
	}
}
