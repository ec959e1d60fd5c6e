package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/heraldrt/herald/events"
	"github.com/heraldrt/herald/shared/protocol"
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
	if err := protocol.ValidateChannel(inbox); err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	// The page's emails fall back: with no tab of the user's open they go
	// to the fallback queue, and the page says so.
	res, id, err := s.sendEmail(r.Context(), in.To, in.Subject, in.Body, events.UnoccupiedFallback)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message_id": res, "id": id, "queue": queueName(s.env.Get("BROADCAST_QUEUE_URL")), "channel": inbox})
}

// SendEmail queues an EmailSent envelope for user to and returns the SQS
// message id. It is broadcast whether or not the user has a tab open.
func (s *Stack) SendEmail(ctx context.Context, to, subject, body string) (string, error) {
	msgID, _, err := s.sendEmail(ctx, to, subject, body, events.UnoccupiedSend)
	return msgID, err
}

// sendEmail is SendEmail with the envelope's "unoccupied", returning the
// envelope's id too.
func (s *Stack) sendEmail(ctx context.Context, to, subject, body, unoccupied string) (msgID, envID string, err error) {
	var id [16]byte
	rand.Read(id[:])
	envID = "email-" + hex.EncodeToString(id[:])
	env := map[string]any{
		"name":     EmailEvent,
		"channels": []string{UserChannelPrefix + to},
		"data": map[string]any{
			"subject": subject,
			"body":    body,
			"from":    "Admin",
			"sent_at": time.Now().UTC().Format(time.RFC3339Nano),
		},
		"id":         envID,
		"unoccupied": unoccupied,
	}
	b, err := json.Marshal(env)
	if err != nil {
		return "", "", err
	}
	out, err := s.aws.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(s.env.Get("BROADCAST_QUEUE_URL")),
		MessageBody: aws.String(string(b)),
	})
	if err != nil {
		return "", "", fmt.Errorf("SendMessage to the broadcast queue: %w", err)
	}
	return aws.ToString(out.MessageId), envID, nil
}

func queueName(url string) string { return url[strings.LastIndex(url, "/")+1:] }

func (s *Stack) devUsers(w http.ResponseWriter, r *http.Request) {
	list, err := s.users.List(r.Context())
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"table": UsersTable, "users": orEmpty(list)})
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

// The /dev/users endpoints write the Users table with the SDK, as the
// app's backend would; the table's stream takes each write to the
// StreamFunction, which broadcasts INSERT, MODIFY and REMOVE as
// UserCreated, UserUpdated and UserDeleted. They answer once the write is
// done, before the broadcast.

func (s *Stack) devCreateUser(w http.ResponseWriter, r *http.Request) {
	name, ok := userName(w, r)
	if !ok {
		return
	}
	u, err := s.users.Create(r.Context(), name)
	s.answerWrite(w, u, err, "PutItem", "INSERT", http.StatusCreated)
}

func (s *Stack) devRenameUser(w http.ResponseWriter, r *http.Request) {
	name, ok := userName(w, r)
	if !ok {
		return
	}
	u, err := s.users.Rename(r.Context(), r.PathValue("id"), name)
	s.answerWrite(w, u, err, "UpdateItem", "MODIFY", http.StatusOK)
}

func (s *Stack) devDeleteUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.users.Delete(r.Context(), r.PathValue("id"))
	s.answerWrite(w, u, err, "DeleteItem", "REMOVE", http.StatusOK)
}

func (s *Stack) answerWrite(w http.ResponseWriter, u User, err error, op, record string, status int) {
	switch {
	case errors.Is(err, errNoUser):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusBadGateway, err.Error())
	default:
		writeJSON(w, status, map[string]any{"table": UsersTable, "operation": op, "event": record, "user": u})
	}
}

// QueueState is a queue's content, for /dev/queues: SQS's counts and, for
// the DLQ, its messages.
type QueueState struct {
	URL      string       `json:"url"`
	Visible  int          `json:"visible"`
	InFlight int          `json:"in_flight"`
	Delayed  int          `json:"delayed"`
	Messages []DeadLetter `json:"messages,omitempty"`
}

// DeadLetter is a message of the DLQ.
type DeadLetter struct {
	ID           string            `json:"id"`
	Body         string            `json:"body"`
	Attributes   map[string]string `json:"attributes,omitempty"`
	ReceiveCount int               `json:"receive_count"`
}

// devQueues shows both queues. The broadcast queue shows its counts only:
// reading its messages would be a receive, which counts towards the
// redrive policy. The DLQ, which has none, is read with a visibility
// timeout of 0, so its messages stay where they are.
func (s *Stack) devQueues(w http.ResponseWriter, r *http.Request) {
	queue, err := s.queueState(r.Context(), s.res.QueueURL)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	dlq, err := s.queueState(r.Context(), s.res.DLQURL)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	if dlq.Messages, err = s.DeadLetters(r.Context()); err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	streams := map[string]StreamStats{}
	for _, p := range s.streams {
		streams[p.table] = p.Stats()
	}
	writeJSON(w, http.StatusOK, map[string]any{"queue": queue, "dlq": dlq, "poller": s.poller.Stats(), "streams": streams})
}

func (s *Stack) queueState(ctx context.Context, url string) (QueueState, error) {
	out, err := s.aws.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return QueueState{}, fmt.Errorf("GetQueueAttributes on %s: %w", queueName(url), err)
	}
	n := func(a sqstypes.QueueAttributeName) int { v, _ := strconv.Atoi(out.Attributes[string(a)]); return v }
	return QueueState{
		URL:      url,
		Visible:  n(sqstypes.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}, nil
}

// DeadLetters reads up to 10 messages of the DLQ without taking them: a
// receive with a visibility timeout of 0 (which adds one to their
// receive count).
func (s *Stack) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	out, err := s.aws.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(s.res.DLQURL),
		MaxNumberOfMessages:         10,
		VisibilityTimeout:           0,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", DLQName, err)
	}
	letters := []DeadLetter{}
	for _, m := range out.Messages {
		l := DeadLetter{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: map[string]string{}}
		l.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
		for k, a := range m.MessageAttributes {
			l.Attributes[k] = aws.ToString(a.StringValue)
		}
		letters = append(letters, l)
	}
	return letters, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
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
