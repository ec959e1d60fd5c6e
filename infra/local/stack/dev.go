package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/infra/local/web"
	"github.com/heraldrt/herald/infra/sqs"
	"github.com/heraldrt/herald/shared/channel"
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
	} {
		h := s.fns.Auth
		if r.fn == "PublishFunction" {
			h = s.fns.Publish
		}
		m.Handle(r.route, newAPIGateway(r.fn, r.route, h, s.log))
	}

	m.Handle("GET /{$}", s.file("index.html", "text/html; charset=utf-8"))
	m.Handle("GET /app.js", s.file("app.js", "text/javascript; charset=utf-8"))
	m.Handle("GET /style.css", s.file("style.css", "text/css; charset=utf-8"))
	m.HandleFunc("GET /pusher.min.js", s.pusherJS)
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	m.HandleFunc("GET /dev/config", s.devConfig)
	m.HandleFunc("GET /dev/token", s.devToken)
	m.HandleFunc("POST /dev/send-email", s.devSendEmail)
	m.HandleFunc("GET /dev/users", s.devUsers)
	m.HandleFunc("POST /dev/users/{id}", s.devRenameUser)
	m.HandleFunc("GET /dev/queues", s.devQueues)
	s.mux = m
}

// orMissing answers 503 naming the function when it could not be built.
func orMissing(name string, h http.Handler) http.Handler {
	if h != nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": name + " is not available in this build of the local stack"})
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
// (or ABLY_HOST), hosted Pusher by cluster, or Ably's Pusher adapter.
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
	prefix := "PUSHER_"
	if c.Connection == "ably" {
		prefix = "ABLY_"
		c.Key = ablyKeyName(s.env.Get("ABLY_KEY"))
	} else {
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

func (s *Stack) devConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.pageConfig())
}

// devToken signs an HS256 JWT for whoever asks: local only, never deployed.
func (s *Stack) devToken(w http.ResponseWriter, r *http.Request) {
	sub, name := r.URL.Query().Get("sub"), r.URL.Query().Get("name")
	switch {
	case sub == "":
		writeError(w, http.StatusBadRequest, "sub is required: /dev/token?sub=42&name=Alice")
		return
	case len(sub) > 128 || !utf8.ValidString(sub):
		writeError(w, http.StatusBadRequest, "sub must be valid UTF-8 of at most 128 bytes (Pusher's user id limit)")
		return
	case len(name) > 100 || !utf8.ValidString(name):
		writeError(w, http.StatusBadRequest, "name must be valid UTF-8 of at most 100 bytes")
		return
	}
	tok, exp, err := s.signToken(sub, name, time.Now())
	if err != nil {
		writeError(w, http.StatusNotImplemented, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "expires_at": exp.UTC().Format(time.RFC3339)})
}

// signToken signs the claims the default channel rules read (sub, name)
// with AUTH_JWT_SECRET, adding iss and aud when the auth function checks
// them.
func (s *Stack) signToken(sub, name string, now time.Time) (string, time.Time, error) {
	secret := s.env.Get("AUTH_JWT_SECRET")
	if secret == "" {
		return "", time.Time{}, errors.New("AUTH_JWT_SECRET is not set: /dev/token signs only HS256 tokens")
	}
	exp := now.Add(tokenLifetime)
	claims := jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": exp.Unix()}
	if name != "" {
		claims["name"] = name
	}
	if iss := s.env.Get("AUTH_JWT_ISSUER"); iss != "" {
		claims["iss"] = iss
	}
	if aud := s.env.Get("AUTH_JWT_AUDIENCE"); aud != "" {
		claims["aud"] = aud
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing the token: %w", err)
	}
	return tok, exp, nil
}

type sendEmailRequest struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// devSendEmail does what the app's backend would: it puts an EmailSent
// envelope on the broadcast queue with aws-sdk-go-v2's SQS client.
func (s *Stack) devSendEmail(w http.ResponseWriter, r *http.Request) {
	var in sendEmailRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "body must be JSON {to, subject, body}: "+err.Error())
		return
	}
	if in.To == "" || strings.TrimSpace(in.Subject) == "" {
		writeError(w, http.StatusBadRequest, "to and subject are required")
		return
	}
	inbox := UserChannelPrefix + in.To
	if err := channel.Validate(inbox); err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	res, err := s.SendEmail(r.Context(), in.To, in.Subject, in.Body)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message_id": res, "queue": queueName(s.env.Get("BROADCAST_QUEUE_URL")), "channel": inbox})
}

// SendEmail queues an EmailSent envelope for user to and returns the SQS
// message id.
func (s *Stack) SendEmail(ctx context.Context, to, subject, body string) (string, error) {
	var id [16]byte
	rand.Read(id[:])
	env := map[string]any{
		"name":     EmailEvent,
		"channels": []string{UserChannelPrefix + to},
		"data": map[string]any{
			"subject": subject,
			"body":    body,
			"from":    "Admin",
			"sent_at": time.Now().UTC().Format(time.RFC3339Nano),
		},
		"id": "email-" + hex.EncodeToString(id[:]),
	}
	b, err := json.Marshal(env)
	if err != nil {
		return "", err
	}
	out, err := s.client.SendMessage(ctx, &awssqs.SendMessageInput{
		QueueUrl:    aws.String(s.env.Get("BROADCAST_QUEUE_URL")),
		MessageBody: aws.String(string(b)),
	})
	if err != nil {
		return "", fmt.Errorf("SendMessage to the broadcast queue: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

func queueName(url string) string { return url[strings.LastIndex(url, "/")+1:] }

func (s *Stack) devUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"table": usersTableName, "users": s.users.List()})
}

// devRenameUser writes a row and hands its stream record to the
// StreamFunction, as DynamoDB Streams and Lambda would.
func (s *Stack) devRenameUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "body must be JSON {name}: "+err.Error())
		return
	}
	if in.Name = strings.TrimSpace(in.Name); in.Name == "" || len(in.Name) > 100 {
		writeError(w, http.StatusBadRequest, "name must be 1 to 100 bytes")
		return
	}
	resp, err := s.RenameUser(r.Context(), r.PathValue("id"), in.Name)
	if errors.Is(err, errNoUser) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"table": usersTableName, "failures": len(resp.BatchItemFailures), "response": resp})
}

// RenameUser renames a user in the Users table and invokes the
// StreamFunction with the resulting MODIFY record.
func (s *Stack) RenameUser(ctx context.Context, id, name string) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	if s.fns.Stream == nil {
		return resp, errors.New("StreamFunction is not available in this build of the local stack")
	}
	rec, err := s.users.Rename(id, name)
	if err != nil {
		return resp, err
	}
	payload, err := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
	if err != nil {
		return resp, err
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FunctionTimeout)
	defer cancel()
	out, err := invoke(ictx, s.fns.Stream, payload)
	if err != nil {
		return resp, fmt.Errorf("StreamFunction: %w", err)
	}
	if err := json.Unmarshal(out, &resp); err != nil && string(out) != "null" {
		return resp, fmt.Errorf("StreamFunction answered %s: %w", out, err)
	}
	return resp, nil
}

// QueueState is a queue's content, for /dev/queues.
type QueueState struct {
	URL      string        `json:"url"`
	Messages []sqs.Message `json:"messages"`
}

func (s *Stack) devQueues(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"queue":  QueueState{URL: s.queueURL, Messages: orEmpty(s.sqs.Messages(QueueName))},
		"dlq":    QueueState{URL: s.dlqURL, Messages: orEmpty(s.sqs.Messages(DLQName))},
		"poller": s.poller.Stats(),
	})
}

func orEmpty(m []sqs.Message) []sqs.Message {
	if m == nil {
		return []sqs.Message{}
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
