package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/infra/sqs"
	"github.com/heraldrt/herald/shared/channel"
)

// devConfig tells the page how to connect; the /dev endpoints below are
// what the page and scripts use locally, never deployed.
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

// userName reads {"name": ...} from a request body.
func userName(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "body must be JSON {name}: "+err.Error())
		return "", false
	}
	if in.Name = strings.TrimSpace(in.Name); in.Name == "" || len(in.Name) > 100 || !utf8.ValidString(in.Name) {
		writeError(w, http.StatusBadRequest, "name must be 1 to 100 bytes of UTF-8")
		return "", false
	}
	return in.Name, true
}

// The /dev/users endpoints write the Users table and hand each write's
// stream record to the StreamFunction, as DynamoDB Streams and Lambda
// would: INSERT, MODIFY and REMOVE become UserCreated, UserUpdated and
// UserDeleted.

func (s *Stack) devCreateUser(w http.ResponseWriter, r *http.Request) {
	name, ok := userName(w, r)
	if !ok {
		return
	}
	u, rec := s.users.Create(name)
	s.answerStream(w, r.Context(), rec, map[string]any{"user": u}, http.StatusCreated)
}

func (s *Stack) devRenameUser(w http.ResponseWriter, r *http.Request) {
	name, ok := userName(w, r)
	if !ok {
		return
	}
	rec, err := s.users.Rename(r.PathValue("id"), name)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	s.answerStream(w, r.Context(), rec, nil, http.StatusOK)
}

func (s *Stack) devDeleteUser(w http.ResponseWriter, r *http.Request) {
	rec, err := s.users.Delete(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	s.answerStream(w, r.Context(), rec, nil, http.StatusOK)
}

// answerStream invokes the StreamFunction with rec and answers with its
// response.
func (s *Stack) answerStream(w http.ResponseWriter, ctx context.Context, rec events.DynamoDBEventRecord, extra map[string]any, status int) {
	resp, err := s.stream(ctx, rec)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	out := map[string]any{"table": usersTableName, "event": rec.EventName, "failures": len(resp.BatchItemFailures), "response": resp}
	for k, v := range extra {
		out[k] = v
	}
	writeJSON(w, status, out)
}

// stream invokes the StreamFunction with one record, as Lambda's DynamoDB
// event source mapping would.
func (s *Stack) stream(ctx context.Context, rec events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
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
