package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/heraldrt/herald/infra/testkit"
	"gopkg.in/yaml.v3"
)

// functions are the Lambda functions and their packages under functions/.
var functions = map[string]string{
	"QueueFunction":   "queue",
	"StreamFunction":  "stream",
	"PublishFunction": "publish",
	"AuthFunction":    "auth",
	"WebhookFunction": "webhook",
}

func templatePath(t *testing.T) string { return filepath.Join(testkit.RepoRoot(t), "template.yaml") }

// open parses the template with goformation. Refs to resources and GetAtts
// become "ref:X" / "getatt:X.Attr" strings instead of goformation's nil,
// so typed fields that hold them still decode and can be compared.
func open(t *testing.T) *cloudformation.Template {
	t.Helper()
	ref := func(name string, input, tpl interface{}) interface{} {
		if v := intrinsics.Ref(name, input, tpl); v != nil {
			return v
		}
		if s, ok := input.(string); ok && s != "AWS::NoValue" {
			return "ref:" + s
		}
		return nil
	}
	getatt := func(name string, input, tpl interface{}) interface{} {
		switch v := input.(type) {
		case []interface{}:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i], _ = p.(string)
			}
			return "getatt:" + strings.Join(parts, ".")
		case string:
			return "getatt:" + v
		}
		return nil
	}
	tpl, err := goformation.OpenWithOptions(templatePath(t), &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{"Ref": ref, "Fn::GetAtt": getatt},
	})
	if err != nil {
		t.Fatalf("goformation: %v", err)
	}
	return tpl
}

// get walks the template's mapping keys; nil when a key is missing.
var get = testkit.YAMLPath

func scalars(n *yaml.Node) []string {
	var out []string
	if n == nil {
		return nil
	}
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

func TestFunctions(t *testing.T) {
	tpl := open(t)
	fns := tpl.GetAllServerlessFunctionResources()
	if len(fns) != len(functions) {
		t.Fatalf("template has %d functions, want %d", len(fns), len(functions))
	}
	for name, pkg := range functions {
		t.Run(name, func(t *testing.T) {
			f, ok := fns[name]
			if !ok {
				t.Fatalf("no %s in template.yaml", name)
			}
			if f.CodeUri == nil || f.CodeUri.String == nil || *f.CodeUri.String != "." {
				t.Errorf("CodeUri = %+v, want .", f.CodeUri)
			}
			if f.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
				t.Errorf("Metadata = %v, want BuildMethod: makefile", f.AWSCloudFormationMetadata)
			}
			// SAM runs `make build-<LogicalId>` with ARTIFACTS_DIR: make must
			// know the target and build this function's package for arm64.
			cmd := exec.Command("make", "-n", "build-"+name, "ARTIFACTS_DIR=/artifacts")
			cmd.Dir = testkit.RepoRoot(t)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n build-%s: %v\n%s", name, err, out)
			}
			for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "-o /artifacts/bootstrap", "./functions/" + pkg + "/bootstrap", "lambda.norpc"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("make build-%s does not contain %q:\n%s", name, want, out)
				}
			}
			if _, err := os.Stat(filepath.Join(testkit.RepoRoot(t), "functions", pkg, "bootstrap", "main.go")); err != nil {
				t.Errorf("functions/%s/bootstrap/main.go: %v", pkg, err)
			}
		})
	}
}

func TestGlobals(t *testing.T) {
	g := get(testkit.Template(t), "Globals", "Function")
	want := map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": "128"}
	for k, v := range want {
		if n := get(g, k); n == nil || n.Value != v {
			t.Errorf("Globals.Function.%s = %v, want %s", k, n, v)
		}
	}
	if a := scalars(get(g, "Architectures")); !slices.Equal(a, []string{"arm64"}) {
		t.Errorf("Architectures = %v, want [arm64]", a)
	}
	if f := get(g, "LoggingConfig", "LogFormat"); f == nil || f.Value != "JSON" {
		t.Errorf("LoggingConfig.LogFormat = %v, want JSON", f)
	}
	for _, v := range []string{"BROADCAST_CONNECTION", "BROADCAST_SECRET_ARN", "HERALD_METRICS_NAMESPACE", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if get(g, "Environment", "Variables", v) == nil {
			t.Errorf("shared environment lacks %s", v)
		}
	}
	// Tracing is Active only where spans are made: with the collector
	// layer, which is also what sets the OTLP endpoint.
	for key, want := range map[string]string{
		"Tracing":     "[HasTracing Active PassThrough]",
		"Layers":      "[HasTracing [AdotLayerArn] AWS::NoValue]",
		"Environment": "",
	} {
		n := get(g, key)
		if key == "Environment" {
			n = get(g, "Environment", "Variables", "OTEL_EXPORTER_OTLP_ENDPOINT")
			want = "[HasTracing http://localhost:4318 ]"
		}
		if n == nil || n.Tag != "!If" || fmt.Sprint(nested(n)) != want {
			t.Errorf("Globals.Function.%s = %v, want !If %s", key, nested(n), want)
		}
	}
	tpl := testkit.Template(t)
	if d := get(tpl, "Parameters", "AdotLayerArn"); d == nil || get(d, "Default").Value != "" || get(d, "Description") == nil {
		t.Error("AdotLayerArn is not an optional parameter with a Description")
	}
	if c := get(tpl, "Conditions", "HasTracing"); c == nil {
		t.Error("no HasTracing condition")
	}
}

// nested renders a node's scalars with their nesting, tags dropped.
func nested(n *yaml.Node) any {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	out := []any{}
	for _, c := range n.Content {
		out = append(out, nested(c))
	}
	return out
}

// Every alarm notifies AlarmTopicArn when given, and the ones the
// functions need exist, each watching what it says.
func TestAlarmsAndDashboard(t *testing.T) {
	res := get(testkit.Template(t), "Resources")
	alarms := 0
	for i := 0; i+1 < len(res.Content); i += 2 {
		name, r := res.Content[i].Value, res.Content[i+1]
		if get(r, "Type").Value != "AWS::CloudWatch::Alarm" {
			continue
		}
		alarms++
		if got := fmt.Sprint(nested(get(r, "Properties", "AlarmActions"))); got != "[HasAlarmTopic [AlarmTopicArn] AWS::NoValue]" {
			t.Errorf("%s AlarmActions = %s, want AlarmTopicArn when set", name, got)
		}
	}
	text := func(name string) string { return nodeText(get(res, name)) }
	for name, wants := range map[string][]string{
		"FunctionErrorsAlarm":    {"AWS/Lambda", "Errors", "QueueFunction", "StreamFunction", "PublishFunction", "AuthFunction", "WebhookFunction"},
		"FunctionThrottlesAlarm": {"AWS/Lambda", "Throttles", "QueueFunction", "StreamFunction", "PublishFunction", "AuthFunction", "WebhookFunction"},
		"StreamIteratorAgeAlarm": {"IteratorAge", "StreamFunction"},
		"ProviderErrorsAlarm":    {"MetricsNamespace", "ProviderErrors", "ProviderRequests", "queue", "stream", "publish", "BroadcastConnection"},
		"AuthDeniedSpikeAlarm":   {"AuthDenied", "ANOMALY_DETECTION_BAND", "auth"},
		"DeadLetterAlarm":        {"AWS/SQS", "DeadLetterQueue"},
	} {
		if get(res, name) == nil {
			t.Errorf("no %s", name)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(text(name), w) {
				t.Errorf("%s does not mention %s", name, w)
			}
		}
	}
	if alarms < 6 {
		t.Errorf("%d alarms, want at least 6", alarms)
	}

	d := get(res, "Dashboard")
	if d == nil || get(d, "Type").Value != "AWS::CloudWatch::Dashboard" {
		t.Fatal("no AWS::CloudWatch::Dashboard")
	}
	body := get(d, "Properties", "DashboardBody")
	var parsed struct {
		Widgets []struct {
			Properties struct {
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body.Value), &parsed); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v", err)
	}
	seen := map[string]bool{}
	for _, w := range parsed.Widgets {
		for _, m := range w.Properties.Metrics {
			if len(m) > 3 && m[0] == "${MetricsNamespace}" {
				seen[fmt.Sprint(m[3], "/", m[1])] = true
			}
		}
	}
	for _, fn := range []string{"queue", "stream", "publish"} {
		for _, name := range []string{"Events", "Broadcasts", "ProviderRequests", "ProviderErrors", "ProviderErrors429", "ProviderErrors5xx", "ProviderErrorsTimeout", "ProviderLatency", "Lag"} {
			if !seen[fn+"/"+name] {
				t.Errorf("the dashboard does not chart %s of %s", name, fn)
			}
		}
	}
	for _, key := range []string{"queue/Retries", "queue/Poison", "queue/DuplicatesSuppressed", "stream/Poison", "publish/PublishAccepted", "publish/PublishRefused", "auth/AuthGranted", "auth/AuthDenied", "auth/AuthDeniedForbidden", "webhook/WebhooksReceived"} {
		if !seen[key] {
			t.Errorf("the dashboard does not chart %s", key)
		}
	}
}

func TestQueuesAndEvents(t *testing.T) {
	tpl := open(t)
	q, err := tpl.GetSQSQueueWithName("BroadcastQueue")
	if err != nil {
		t.Fatal(err)
	}
	timeout, _ := strconv.Atoi(get(testkit.Template(t), "Globals", "Function", "Timeout").Value)
	if q.VisibilityTimeout == nil || *q.VisibilityTimeout < 6*timeout {
		t.Errorf("BroadcastQueue VisibilityTimeout %v is under 6x the function timeout %d", q.VisibilityTimeout, timeout)
	}
	redrive, _ := q.RedrivePolicy.(map[string]interface{})
	if redrive["maxReceiveCount"] != float64(5) || redrive["deadLetterTargetArn"] != "getatt:DeadLetterQueue.Arn" {
		t.Errorf("RedrivePolicy = %v, want maxReceiveCount 5 to the DLQ", redrive)
	}
	alarm, err := tpl.GetCloudWatchAlarmWithName("DeadLetterAlarm")
	if err != nil {
		t.Fatal(err)
	}
	if alarm.Namespace == nil || *alarm.Namespace != "AWS/SQS" || len(alarm.Dimensions) != 1 || alarm.Dimensions[0].Value != "getatt:DeadLetterQueue.QueueName" {
		t.Errorf("DeadLetterAlarm does not watch the DLQ: %+v", alarm)
	}
	table, err := tpl.GetDynamoDBTableWithName("OutboxTable")
	if err != nil {
		t.Fatal(err)
	}
	if table.StreamSpecification == nil || table.StreamSpecification.StreamViewType != "NEW_AND_OLD_IMAGES" {
		t.Errorf("OutboxTable stream = %+v", table.StreamSpecification)
	}
	if _, err := tpl.GetSecretsManagerSecretWithName("ProviderSecret"); err != nil {
		t.Error(err)
	}

	// goformation's event models predate FunctionResponseTypes: read the
	// event properties from the YAML itself.
	res := get(testkit.Template(t), "Resources")
	sqsEv := get(res, "QueueFunction", "Properties", "Events", "Broadcasts")
	if get(sqsEv, "Type").Value != "SQS" {
		t.Fatalf("QueueFunction's event is %v", get(sqsEv, "Type").Value)
	}
	p := get(sqsEv, "Properties")
	if v := scalars(get(p, "FunctionResponseTypes")); !slices.Equal(v, []string{"ReportBatchItemFailures"}) {
		t.Errorf("SQS FunctionResponseTypes = %v", v)
	}
	for k, param := range map[string]string{"BatchSize": "QueueBatchSize", "MaximumBatchingWindowInSeconds": "QueueMaxBatchingWindow"} {
		if n := get(p, k); n == nil || n.Tag != "!Ref" || n.Value != param {
			t.Errorf("SQS %s is not !Ref %s", k, param)
		}
	}
	ddb := get(res, "StreamFunction", "Properties", "Events", "Outbox")
	p = get(ddb, "Properties")
	if get(ddb, "Type").Value != "DynamoDB" || get(p, "Stream").Value != "OutboxTable.StreamArn" {
		t.Fatalf("StreamFunction's event is not the outbox stream")
	}
	if v := scalars(get(p, "FunctionResponseTypes")); !slices.Equal(v, []string{"ReportBatchItemFailures"}) {
		t.Errorf("DynamoDB FunctionResponseTypes = %v", v)
	}
	if get(p, "BisectBatchOnFunctionError").Value != "true" || get(p, "MaximumRetryAttempts") == nil {
		t.Errorf("DynamoDB event lacks bisection or bounded retries")
	}
	if d := get(p, "DestinationConfig", "OnFailure", "Destination"); d == nil || d.Value != "DeadLetterQueue.Arn" {
		t.Errorf("DynamoDB on-failure destination = %v", d)
	}
	esm := get(res, "ModelTableStream")
	if get(esm, "Condition").Value != "HasModelTable" || get(esm, "Properties", "EventSourceArn").Value != "ModelTableStreamArn" {
		t.Errorf("ModelTableStream is not conditional on the existing table's stream ARN")
	}
	if v := scalars(get(esm, "Properties", "FunctionResponseTypes")); !slices.Equal(v, []string{"ReportBatchItemFailures"}) {
		t.Errorf("ModelTableStream FunctionResponseTypes = %v", v)
	}
}

// TestFanIn: an SNS topic (its envelopes, not raw messages, which the
// QueueFunction unwraps) and an EventBridge rule on the default bus feed
// the broadcast queue, whose policy lets exactly those two send to it.
func TestFanIn(t *testing.T) {
	res := get(testkit.Template(t), "Resources")
	if get(res, "BroadcastTopic", "Type").Value != "AWS::SNS::Topic" {
		t.Fatal("no BroadcastTopic")
	}
	sub := get(res, "BroadcastTopicSubscription", "Properties")
	if get(res, "BroadcastTopicSubscription", "Type").Value != "AWS::SNS::Subscription" ||
		get(sub, "TopicArn").Value != "BroadcastTopic" || get(sub, "Protocol").Value != "sqs" ||
		get(sub, "Endpoint").Value != "BroadcastQueue.Arn" || get(sub, "RawMessageDelivery").Value != "false" {
		t.Errorf("BroadcastTopicSubscription = %s", nodeText(sub))
	}
	rule := get(res, "BroadcastRule", "Properties")
	if get(res, "BroadcastRule", "Type").Value != "AWS::Events::Rule" || get(rule, "EventBusName").Value != "default" || get(rule, "State").Value != "ENABLED" {
		t.Errorf("BroadcastRule = %s", nodeText(rule))
	}
	if p := scalars(get(rule, "EventPattern", "detail-type")); !slices.Equal(p, []string{"herald.broadcast"}) {
		t.Errorf("BroadcastRule matches detail-type %v, want [herald.broadcast]", p)
	}
	targets := get(rule, "Targets")
	if targets == nil || len(targets.Content) != 1 || get(targets.Content[0], "Arn").Value != "BroadcastQueue.Arn" {
		t.Errorf("BroadcastRule targets = %s, want the broadcast queue alone", nodeText(targets))
	}
	pol := get(res, "BroadcastQueuePolicy", "Properties")
	if q := scalars(get(pol, "Queues")); !slices.Equal(q, []string{"BroadcastQueue"}) {
		t.Errorf("BroadcastQueuePolicy is on %v", q)
	}
	senders := map[string]string{}
	for _, st := range get(pol, "PolicyDocument", "Statement").Content {
		if get(st, "Effect").Value != "Allow" || get(st, "Action").Value != "sqs:SendMessage" || get(st, "Resource").Value != "BroadcastQueue.Arn" {
			t.Errorf("queue policy statement %s", nodeText(st))
		}
		source := get(st, "Condition", "ArnEquals", "aws:SourceArn")
		senders[get(st, "Principal", "Service").Value] = source.Tag + " " + source.Value
	}
	want := map[string]string{"sns.amazonaws.com": "!Ref BroadcastTopic", "events.amazonaws.com": "!GetAtt BroadcastRule.Arn"}
	if !mapsEqual(senders, want) {
		t.Errorf("queue policy lets %v send, want %v", senders, want)
	}
}

func TestHTTPAPI(t *testing.T) {
	res := get(testkit.Template(t), "Resources")
	api := get(res, "HttpApi", "Properties")
	if get(api, "CorsConfiguration", "AllowOrigins").Value != "CorsOrigins" {
		t.Errorf("CORS origins do not come from the CorsOrigins parameter")
	}
	for _, k := range []string{"ThrottlingBurstLimit", "ThrottlingRateLimit"} {
		if get(api, "DefaultRouteSettings", k) == nil {
			t.Errorf("HttpApi lacks %s", k)
		}
	}
	routes := map[string]string{}
	for fn := range functions {
		evs := get(res, fn, "Properties", "Events")
		for i := 0; evs != nil && i+1 < len(evs.Content); i += 2 {
			ev := evs.Content[i+1]
			if get(ev, "Type").Value == "HttpApi" {
				routes[get(ev, "Properties", "Method").Value+" "+get(ev, "Properties", "Path").Value] = fn
				if id := get(ev, "Properties", "ApiId"); id == nil || id.Value != "HttpApi" {
					t.Errorf("%s route is not on HttpApi", fn)
				}
			}
		}
	}
	want := map[string]string{
		"POST /broadcasting/auth":                                   "AuthFunction",
		"POST /broadcasting/user-auth":                              "AuthFunction",
		"POST /apps/{app_id}/events":                                "PublishFunction",
		"POST /apps/{app_id}/batch_events":                          "PublishFunction",
		"GET /apps/{app_id}/channels":                               "PublishFunction",
		"GET /apps/{app_id}/channels/{channel_name}":                "PublishFunction",
		"GET /apps/{app_id}/channels/{channel_name}/users":          "PublishFunction",
		"POST /apps/{app_id}/users/{user_id}/terminate_connections": "PublishFunction",
		"POST /webhooks/pusher":                                     "WebhookFunction",
		"POST /webhooks/ably":                                       "WebhookFunction",
	}
	if !mapsEqual(routes, want) {
		t.Errorf("routes = %v, want %v", routes, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestOutputs(t *testing.T) {
	tpl := open(t)
	for _, k := range []string{"ApiUrl", "AuthEndpoint", "BroadcastQueueUrl", "OutboxTableName", "DeadLetterQueueUrl", "BroadcastTopicArn", "BroadcastRuleArn"} {
		if _, ok := tpl.Outputs[k]; !ok {
			t.Errorf("no output %s", k)
		}
	}
}

func TestNoLiteralSecrets(t *testing.T) {
	root := testkit.Template(t)
	params := get(root, "Parameters")
	var check func(path string, n *yaml.Node)
	check = func(path string, n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				if strings.HasSuffix(path, "Variables") && (strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") || k == "ABLY_KEY") {
					switch {
					case v.Tag != "!Ref":
						t.Errorf("%s.%s is a literal; secrets come from a NoEcho parameter or the secret's ARN", path, k)
					case get(params, v.Value) != nil && get(params, v.Value, "NoEcho").Value != "true":
						t.Errorf("%s.%s refers to parameter %s, which is not NoEcho", path, k, v.Value)
					}
				}
				check(path+"."+k, v)
			}
			return
		}
		for _, c := range n.Content {
			check(path, c)
		}
	}
	check("", root)
	if s := get(root, "Resources", "ProviderSecret", "Properties", "SecretString"); s != nil {
		t.Errorf("ProviderSecret has a literal SecretString")
	}
}

func TestPoliciesNameExactResources(t *testing.T) {
	res := get(testkit.Template(t), "Resources")
	for fn := range functions {
		pol := get(res, fn, "Properties", "Policies")
		if pol == nil {
			t.Errorf("%s has no policies", fn)
			continue
		}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if r := get(n, "Resource"); r != nil {
				for _, v := range append([]*yaml.Node{r}, r.Content...) {
					if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && strings.Contains(v.Value, "*") {
						t.Errorf("%s: policy resource %q is a wildcard", fn, v.Value)
					}
				}
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(pol)
		if !strings.Contains(nodeText(pol), "AWSSecretsManagerGetSecretValuePolicy") {
			t.Errorf("%s cannot read the provider secret", fn)
		}
	}
}

func nodeText(n *yaml.Node) string {
	b, _ := yaml.Marshal(n)
	return string(b)
}

func TestReferencesResolve(t *testing.T) {
	b, err := os.ReadFile(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	if errs := unresolved(b); len(errs) > 0 {
		t.Fatalf("unresolved references:\n%s", strings.Join(errs, "\n"))
	}
}

// The checker itself must catch what it is for.
func TestReferenceCheckerCatchesMistakes(t *testing.T) {
	tpl := `
Parameters:
  P: {Type: String}
Conditions:
  C: !Equals [!Ref P, ""]
Resources:
  Q:
    Type: AWS::SQS::Queue
    Condition: Nope
    Properties:
      A: !Ref Missing
      B: !GetAtt Gone.Arn
      C: !Sub "${P}-${Q.Arn}-${AWS::Region}-${!Literal}-${Absent}"
      D: !If [Unknown, 1, 2]
      E: {"Fn::GetAtt": [Other, Arn]}
      F: !Sub ["${x}-${Nor}", {x: !Ref P}]
      G: !Ref AWS::Region
`
	got := unresolved([]byte(tpl))
	want := []string{"Condition Nope", "!Ref Missing", "!GetAtt Gone", "!Sub Absent", "!If Unknown", "Fn::GetAtt Other", "!Sub Nor"}
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.Contains(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("checker missed %q; got %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("checker found %d problems, want %d: %v", len(got), len(want), got)
	}
}

var pseudo = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// unresolved returns every Ref, GetAtt, Sub variable, If condition and
// resource Condition that names nothing in the template.
func unresolved(src []byte) []string {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return []string{err.Error()}
	}
	root := doc.Content[0]
	names := func(section string) map[string]bool {
		out := map[string]bool{}
		n := get(root, section)
		for i := 0; n != nil && i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = true
		}
		return out
	}
	params, resources, conditions := names("Parameters"), names("Resources"), names("Conditions")
	// SAM generates <LogicalId>Role for a function that names no Role.
	res := get(root, "Resources")
	for i := 0; res != nil && i+1 < len(res.Content); i += 2 {
		if fn := res.Content[i+1]; get(fn, "Type") != nil && get(fn, "Type").Value == "AWS::Serverless::Function" && get(fn, "Properties", "Role") == nil {
			resources[res.Content[i].Value+"Role"] = true
		}
	}
	var errs []string
	ref := func(kind, name string) {
		if !params[name] && !resources[name] && !pseudo[name] {
			errs = append(errs, kind+" "+name)
		}
	}
	getatt := func(kind, target string) {
		if !resources[strings.SplitN(target, ".", 2)[0]] {
			errs = append(errs, kind+" "+strings.SplitN(target, ".", 2)[0])
		}
	}
	sub := func(s string, local map[string]bool) {
		for _, m := range subVar.FindAllStringSubmatch(s, -1) {
			v := m[1]
			if strings.HasPrefix(v, "!") || local[v] {
				continue
			}
			name, _, attr := strings.Cut(v, ".")
			if attr {
				if !resources[name] {
					errs = append(errs, "!Sub "+name)
				}
				continue
			}
			if !params[name] && !resources[name] && !pseudo[name] {
				errs = append(errs, "!Sub "+name)
			}
		}
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Tag {
		case "!Ref":
			ref("!Ref", n.Value)
		case "!GetAtt":
			if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
				getatt("!GetAtt", n.Content[0].Value)
			} else {
				getatt("!GetAtt", n.Value)
			}
		case "!Sub":
			if n.Kind == yaml.ScalarNode {
				sub(n.Value, nil)
			} else if len(n.Content) == 2 {
				local := map[string]bool{}
				for i := 0; i+1 < len(n.Content[1].Content); i += 2 {
					local[n.Content[1].Content[i].Value] = true
				}
				sub(n.Content[0].Value, local)
			}
		case "!If":
			if len(n.Content) > 0 && !conditions[n.Content[0].Value] {
				errs = append(errs, "!If "+n.Content[0].Value)
			}
		case "!Condition":
			if !conditions[n.Value] {
				errs = append(errs, "!Condition "+n.Value)
			}
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				switch {
				case k == "Ref" && v.Kind == yaml.ScalarNode:
					ref("Ref", v.Value)
				case k == "Fn::GetAtt" && v.Kind == yaml.SequenceNode && len(v.Content) > 0:
					getatt("Fn::GetAtt", v.Content[0].Value)
				case k == "Fn::GetAtt" && v.Kind == yaml.ScalarNode:
					getatt("Fn::GetAtt", v.Value)
				case k == "Condition" && v.Kind == yaml.ScalarNode && v.Tag == "!!str":
					if !conditions[v.Value] {
						errs = append(errs, "Condition "+v.Value)
					}
				case k == "DependsOn":
					for _, d := range append([]*yaml.Node{v}, v.Content...) {
						if d.Kind == yaml.ScalarNode && !resources[d.Value] {
							errs = append(errs, "DependsOn "+d.Value)
						}
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return errs
}

// Packages no Lambda binary may link, each for a reason: test-only
// dependencies, and what herald replaced to keep cold starts short and
// binaries small.
var bannedInLambda = []struct{ prefix, why string }{
	{"github.com/awslabs/goformation", "the template tests' parser"},
	{"github.com/heraldrt/herald/infra/", "test and local-stack support (testkit, moto, the local stack) never ships"},
	{"testing", "the test runner"},
	{"net/http/httptest", "test servers"},
	{"github.com/google/cel-go", "the rules' reference in tests; rules/expr evaluates them"},
	{"cel.dev/expr", "cel-go's"},
	{"google.golang.org/grpc", "the OTLP exporters' gRPC; shared/tracing exports over OTLP/HTTP without it"},
	{"github.com/grpc-ecosystem", "the collector service package's gateway, linked by otlptracehttp"},
	{"go.opentelemetry.io/otel/exporters/otlp", "otlptracehttp links the collector service package (gRPC): +6.8 MB; shared/tracing's exporter replaces it"},
	{"github.com/antlr4-go/antlr", "cel-go's parser"},
	{"github.com/aws/aws-sdk-go-v2/config", "LoadDefaultConfig's profiles, SSO, STS and instance metadata, which a Lambda never uses; shared/config.AWS reads the Lambda environment"},
}

func TestLambdaBinariesLinkNothingBanned(t *testing.T) {
	for _, fn := range functions {
		t.Run(fn, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "list", "-e", "-deps", "./functions/"+fn+"/bootstrap")
			cmd.Dir = testkit.RepoRoot(t)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps: %v", err)
			}
			deps := testkit.Lines(string(out))
			// Proof that the listing is the binary's: the Lambda runtime
			// and the configuration every function reads.
			for _, want := range []string{"github.com/aws/aws-lambda-go/lambda", "github.com/heraldrt/herald/shared/config"} {
				if !slices.Contains(deps, want) {
					t.Fatalf("go list -deps does not list %s; output:\n%s", want, out)
				}
			}
			for _, line := range deps {
				for _, b := range bannedInLambda {
					if line == strings.TrimSuffix(b.prefix, "/") || strings.HasPrefix(line, strings.TrimSuffix(b.prefix, "/")+"/") {
						t.Errorf("the %s binary links %s (%s)", fn, line, b.why)
					}
				}
			}
		})
	}
}

func TestSAMConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testkit.RepoRoot(t), "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`capabilities = "CAPABILITY_IAM"`, "confirm_changeset = true", "resolve_s3 = true", "cached = true", "parallel = true"} {
		if !strings.Contains(s, want) {
			t.Errorf("samconfig.toml lacks %s", want)
		}
	}
}
