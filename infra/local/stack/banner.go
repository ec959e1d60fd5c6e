package stack

import (
	"fmt"
	"io"
	"strings"

	"github.com/heraldrt/herald/infra/moto"
)

// printBanner tells a person what is running where and how to connect: the
// addresses, the local AWS and its resources, the effective configuration
// (secrets only when they are the stack's own) and snippets for pusher-js,
// aws-sdk-go-v2 and the AWS CLI.
func (s *Stack) printBanner(w io.Writer) {
	u := s.URLs()
	pc := s.pageConfig()
	target := "the embedded server"
	if !s.env.Embedded(s.serverL.Addr().String()) {
		target = "a provider outside this stack (from the environment)"
	}
	fmt.Fprintf(w, "herald local stack: BROADCAST_CONNECTION=%s, broadcasting to %s\n\n", pc.Connection, target)
	fmt.Fprintf(w, "  Demo page        %s/\n", u.HTTP)
	fmt.Fprintf(w, "  HTTP functions   %s  (POST /broadcasting/auth, /broadcasting/user-auth; the Pusher HTTP API under /apps/{app_id})\n", u.HTTP)
	fmt.Fprintf(w, "  Pusher server    %s  (ws://%s/app/{key}, Pusher HTTP API, Ably REST)\n", u.Server, strings.TrimPrefix(u.Server, "http://"))
	fmt.Fprintf(w, "  Demo token       %s/dev/token?sub=42&name=Alice\n", u.HTTP)
	fmt.Fprintf(w, "  Metrics          %s/dev/metrics  (each invocation's EMF document; traces to %s)\n\n", u.HTTP, s.tracesTo())

	fmt.Fprintf(w, "Local AWS (moto %s): SQS, DynamoDB and Streams, Secrets Manager, SNS, EventBridge\n", moto.Version)
	fmt.Fprintf(w, "  AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s  (moto accepts any credentials)\n",
		u.AWS, moto.Region, moto.AccessKeyID, moto.SecretAccessKey)
	fmt.Fprintf(w, "  Broadcast queue  %s  (-> QueueFunction: batches of %d within %v; DLQ after %d receives)\n",
		u.Queue, s.cfg.SQS.BatchSize, s.cfg.SQS.BatchingWindow, MaxReceiveCount)
	fmt.Fprintf(w, "  Dead letters     %s  (inspect: %s/dev/queues)\n", u.DLQ, u.HTTP)
	fmt.Fprintf(w, "  SNS topic        %s  (-> broadcast queue)\n", s.res.TopicARN)
	fmt.Fprintf(w, "  EventBridge rule %s  (default bus, %s -> broadcast queue)\n", s.res.RuleARN, RulePattern)
	for _, t := range tables {
		switch {
		case t.stream:
			fmt.Fprintf(w, "  Table %-10s %s  (stream -> StreamFunction from %s)\n", t.name, s.res.Streams[t.name], t.startAt)
		default:
			fmt.Fprintf(w, "  Table %-10s (IDEMPOTENCY_TABLE: each event broadcast once)\n", t.name)
		}
	}
	fmt.Fprintf(w, "  Provider secret  %s\n\n", s.res.SecretARN)

	fmt.Fprintln(w, "Configuration (environment variables override these):")
	for _, k := range s.env.Keys() {
		v := s.env.Get(k)
		switch src := s.env.source(k); {
		case src == sourceGenerated:
			v += "  (random for this run: the provider credentials are real; set it in the environment to keep one)"
		case secretKey(k) && src == sourceEnvironment:
			v = "(set in the environment)"
		case secretKey(k) && src == sourceSecret:
			v = "(from " + s.env.Get("BROADCAST_SECRET_ARN") + ")"
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

	fmt.Fprintln(w, "\naws-sdk-go-v2 (with the four variables above exported):")
	fmt.Fprint(w, indent(sdkSnippet(u.Queue), "  "))
	fmt.Fprintln(w, "\nAWS CLI (a row written to Users is broadcast as UserCreated):")
	fmt.Fprintf(w, "  %s\n", putItemCommand(u.AWS))
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}

// putItemCommand is the AWS CLI line the banner shows; TestPutItemCommand
// runs its item through the SDK.
func putItemCommand(endpoint string) string {
	return fmt.Sprintf(`AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws dynamodb put-item --endpoint-url %s --region %s --table-name %s --item '%s'`,
		moto.AccessKeyID, moto.SecretAccessKey, endpoint, moto.Region, UsersTable, demoPutItem)
}

// demoPutItem is the item of the banner's put-item line.
const demoPutItem = `{"id":{"N":"44"},"name":{"S":"Carol"},"email":{"S":"carol@example.com"}}`

// sdkSnippet is the Go the banner shows; TestAppWrites runs the same calls.
func sdkSnippet(queueURL string) string {
	return `cfg, err := config.LoadDefaultConfig(ctx) // reads AWS_ENDPOINT_URL, AWS_REGION and the keys
if err != nil {
	return err
}
_, err = sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{
	QueueUrl:    aws.String("` + queueURL + `"),
	MessageBody: aws.String(` + "`" + `{"name":"EmailSent","channels":["private-App.Models.User.42"],"data":{"subject":"Hi"}}` + "`" + `),
})
`
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
