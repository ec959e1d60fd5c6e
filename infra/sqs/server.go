package sqs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits SQS enforces and this server enforces too.
const (
	MaxMessageBytes   = 256 * 1024 // body plus attribute names, types and values
	MaxBatchEntries   = 10
	MaxReceive        = 10
	DefaultVisibility = 30 * time.Second
	maxWait           = 20 * time.Second
)

// Config configures a Server. The zero value works.
type Config struct {
	// AccountID appears in queue URLs and ARNs; default 000000000000.
	AccountID string
	// Region appears in ARNs; default us-east-1.
	Region string
	// BaseURL prefixes queue URLs created from Go (CreateQueue); queues
	// created over HTTP use the request's host. Lookups go by the URL's last
	// path segment, so any host finds the queue.
	BaseURL string
	// Now is the clock for visibility timeouts; default time.Now. Tests
	// move it forward instead of sleeping.
	Now func() time.Time
}

// Server is an in-memory SQS. It is an http.Handler; it is safe for
// concurrent use.
type Server struct {
	cfg Config

	mu     sync.Mutex
	queues map[string]*queue
	wake   chan struct{} // closed and replaced whenever a message is sent
	fault  func(queue, body string) *EntryFault
}

// EntryFault is how an injected fault fails one sent message.
type EntryFault struct {
	// Code is SQS's error code, e.g. "InternalError" or "ThrottlingException".
	Code    string
	Message string
	// SenderFault blames the message itself (it is never worth resending).
	SenderFault bool
}

// SetSendFault makes every following SendMessage/SendMessageBatch entry
// ask f first: a non-nil EntryFault fails that entry (in a batch, as a
// Failed entry; alone, as the call's error) and stores nothing. nil
// removes the hook.
func (s *Server) SetSendFault(f func(queue, body string) *EntryFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

var _ http.Handler = (*Server)(nil)

// New returns an empty server.
func New(cfg Config) *Server {
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://sqs." + cfg.Region + ".localhost.localstack.invalid"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, queues: make(map[string]*queue), wake: make(chan struct{})}
}

// Message is a stored message as Messages reports it.
type Message struct {
	ID           string
	Body         string
	Attributes   map[string]Attribute
	ReceiveCount int
	SentAt       time.Time
	// InFlight reports whether a receiver holds it (visibility timeout not
	// yet over).
	InFlight bool
}

type message struct {
	Message
	visibleAt     time.Time
	receipt       string
	firstReceived time.Time
}

type queue struct {
	name       string
	url        string
	attrs      map[string]string
	messages   []*message
	visibility time.Duration
	// redrive
	dlq        string
	maxReceive int
}

// CreateQueue creates a queue (or returns the existing one's URL) with SQS
// attributes such as VisibilityTimeout and RedrivePolicy.
func (s *Server) CreateQueue(name string, attrs map[string]string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createLocked(s.cfg.BaseURL, name, attrs)
}

func (s *Server) createLocked(base, name string, attrs map[string]string) (string, error) {
	if name == "" || len(name) > 80 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return "", apiErr(400, "InvalidParameterValue", "InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if q, ok := s.queues[name]; ok {
		return q.url, nil
	}
	q := &queue{
		name:       name,
		url:        base + "/" + s.cfg.AccountID + "/" + name,
		attrs:      map[string]string{},
		visibility: DefaultVisibility,
	}
	for k, v := range attrs {
		if err := q.set(k, v); err != nil {
			return "", err
		}
	}
	s.queues[name] = q
	return q.url, nil
}

func (q *queue) set(k, v string) error {
	switch k {
	case "VisibilityTimeout":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 43200 {
			return apiErr(400, "InvalidAttributeValue", "InvalidAttributeValue", "Invalid value for the parameter VisibilityTimeout.")
		}
		q.visibility = time.Duration(n) * time.Second
	case "RedrivePolicy":
		var p struct {
			Target string          `json:"deadLetterTargetArn"`
			Max    json.RawMessage `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(v), &p); err != nil || p.Target == "" {
			return apiErr(400, "InvalidAttributeValue", "InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy.")
		}
		n, err := strconv.Atoi(strings.Trim(string(p.Max), `"`))
		if err != nil || n < 1 {
			return apiErr(400, "InvalidAttributeValue", "InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy: maxReceiveCount.")
		}
		q.dlq = p.Target[strings.LastIndex(p.Target, ":")+1:]
		q.maxReceive = n
	}
	q.attrs[k] = v
	return nil
}

// Messages returns a snapshot of every message in a queue, in flight or
// not, oldest first, without receiving any. Unknown queues have none.
func (s *Server) Messages(queue string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queue]
	if q == nil {
		return nil
	}
	now := s.cfg.Now()
	out := make([]Message, 0, len(q.messages))
	for _, m := range q.messages {
		c := m.Message
		c.InFlight = m.visibleAt.After(now)
		c.Attributes = cloneAttrs(m.Attributes)
		out = append(out, c)
	}
	return out
}

// Queues returns the names of all queues, sorted.
func (s *Server) Queues() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.queues))
	for n := range s.queues {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// QueueURL returns a queue's URL, or "" when there is no such queue.
func (s *Server) QueueURL(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[name]; q != nil {
		return q.url
	}
	return ""
}

// ARN returns the ARN a queue of that name has.
func (s *Server) ARN(name string) string {
	return "arn:aws:sqs:" + s.cfg.Region + ":" + s.cfg.AccountID + ":" + name
}

func cloneAttrs(a map[string]Attribute) map[string]Attribute {
	if a == nil {
		return nil
	}
	out := make(map[string]Attribute, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}

// apiError is an SQS error response.
type apiError struct {
	status    int
	typ       string // the JSON protocol's __type, without namespace
	queryCode string // the code the query protocol knew it by
	msg       string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func apiErr(status int, typ, queryCode, msg string) *apiError {
	return &apiError{status: status, typ: typ, queryCode: queryCode, msg: msg}
}

func noQueue() *apiError {
	return apiErr(400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

// ServeHTTP answers one SQS JSON protocol request: POST / with
// X-Amz-Target: AmazonSQS.<Operation>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeErr(w, apiErr(405, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "SQS accepts only POST"))
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok {
		writeErr(w, apiErr(400, "InvalidAction", "InvalidAction", "missing or foreign X-Amz-Target"))
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-amz-json-1.0") {
		writeErr(w, apiErr(400, "InvalidParameterValue", "InvalidParameterValue", "Content-Type must be application/x-amz-json-1.0, not "+ct))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
	dec := json.NewDecoder(r.Body)
	var out any
	var err error
	base := "http://" + r.Host
	switch op {
	case "CreateQueue":
		var in struct {
			QueueName  string
			Attributes map[string]string
		}
		if err = dec.Decode(&in); err == nil {
			s.mu.Lock()
			var u string
			u, err = s.createLocked(base, in.QueueName, in.Attributes)
			s.mu.Unlock()
			out = map[string]string{"QueueUrl": u}
		}
	case "GetQueueUrl":
		var in struct{ QueueName string }
		if err = dec.Decode(&in); err == nil {
			if u := s.QueueURL(in.QueueName); u != "" {
				out = map[string]string{"QueueUrl": u}
			} else {
				err = noQueue()
			}
		}
	case "GetQueueAttributes":
		var in struct {
			QueueUrl       string
			AttributeNames []string
		}
		if err = dec.Decode(&in); err == nil {
			out, err = s.getAttributes(in.QueueUrl, in.AttributeNames)
		}
	case "SendMessage":
		var in sendEntry
		if err = dec.Decode(&in); err == nil {
			out, err = s.send(in.QueueUrl, []sendEntry{in}, false)
		}
	case "SendMessageBatch":
		var in struct {
			QueueUrl string
			Entries  []sendEntry
		}
		if err = dec.Decode(&in); err == nil {
			out, err = s.send(in.QueueUrl, in.Entries, true)
		}
	case "ReceiveMessage":
		var in receiveInput
		if err = dec.Decode(&in); err == nil {
			out, err = s.receive(r.Context(), in)
		}
	case "DeleteMessage":
		var in struct{ QueueUrl, ReceiptHandle string }
		if err = dec.Decode(&in); err == nil {
			err = s.delete(in.QueueUrl, in.ReceiptHandle)
			out = struct{}{}
		}
	case "ChangeMessageVisibility":
		var in struct {
			QueueUrl, ReceiptHandle string
			VisibilityTimeout       int
		}
		if err = dec.Decode(&in); err == nil {
			err = s.changeVisibility(in.QueueUrl, in.ReceiptHandle, in.VisibilityTimeout)
			out = struct{}{}
		}
	case "DeleteMessageBatch":
		var in struct {
			QueueUrl string
			Entries  []struct{ Id, ReceiptHandle string }
		}
		if err = dec.Decode(&in); err == nil {
			out, err = s.deleteBatch(in.QueueUrl, in.Entries)
		}
	default:
		err = apiErr(400, "InvalidAction", "InvalidAction", "The action "+op+" is not valid for this endpoint.")
	}
	if err != nil {
		if _, ok := err.(*apiError); !ok {
			err = apiErr(400, "InvalidParameterValue", "InvalidParameterValue", "malformed request: "+err.Error())
		}
		writeErr(w, err.(*apiError))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", newID())
	json.NewEncoder(w).Encode(out)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", newID())
	fault := "Sender"
	if e.status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("x-amzn-query-error", e.queryCode+";"+fault)
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.typ, "message": e.msg})
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// lookupLocked finds a queue by URL (its last path segment).
func (s *Server) lookupLocked(url string) (*queue, error) {
	name := url[strings.LastIndex(url, "/")+1:]
	q := s.queues[name]
	if q == nil {
		return nil, noQueue()
	}
	return q, nil
}

func (s *Server) getAttributes(url string, names []string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookupLocked(url)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	visible, inFlight := 0, 0
	for _, m := range q.messages {
		if m.visibleAt.After(now) {
			inFlight++
		} else {
			visible++
		}
	}
	all := map[string]string{
		"QueueArn":                              s.ARN(q.name),
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    "0",
		"VisibilityTimeout":                     strconv.Itoa(int(q.visibility / time.Second)),
	}
	for k, v := range q.attrs {
		all[k] = v
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]string{}
	for k, v := range all {
		if want["All"] || want[k] {
			out[k] = v
		}
	}
	return map[string]any{"Attributes": out}, nil
}

type sendEntry struct {
	Id                string
	QueueUrl          string
	MessageBody       *string
	DelaySeconds      int
	MessageAttributes map[string]Attribute
}

type batchError struct {
	Id          string
	Code        string
	Message     string
	SenderFault bool
}

func (s *Server) send(url string, entries []sendEntry, batch bool) (any, error) {
	if batch {
		if len(entries) == 0 {
			return nil, apiErr(400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
		}
		if len(entries) > MaxBatchEntries {
			return nil, apiErr(400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", MaxBatchEntries, len(entries)))
		}
		ids := map[string]bool{}
		total := 0
		for _, e := range entries {
			if ids[e.Id] {
				return nil, apiErr(400, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id "+e.Id+" repeated.")
			}
			ids[e.Id] = true
			total += size(e)
		}
		if total > MaxMessageBytes {
			return nil, apiErr(400, "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageBytes, total))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookupLocked(url)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	var ok []map[string]any
	var failed []batchError
	for _, e := range entries {
		if s.fault != nil && e.MessageBody != nil {
			if f := s.fault(q.name, *e.MessageBody); f != nil {
				if !batch {
					status := 400
					if !f.SenderFault {
						status = 500
					}
					return nil, apiErr(status, f.Code, f.Code, f.Message)
				}
				failed = append(failed, batchError{Id: e.Id, Code: f.Code, Message: f.Message, SenderFault: f.SenderFault})
				continue
			}
		}
		if reason := check(e); reason != "" {
			if !batch {
				return nil, apiErr(400, "InvalidParameterValue", "InvalidParameterValue", reason)
			}
			failed = append(failed, batchError{Id: e.Id, Code: "InvalidParameterValue", Message: reason, SenderFault: true})
			continue
		}
		m := &message{Message: Message{ID: newID(), Body: *e.MessageBody, Attributes: cloneAttrs(e.MessageAttributes), SentAt: now}}
		m.visibleAt = now.Add(time.Duration(e.DelaySeconds) * time.Second)
		q.messages = append(q.messages, m)
		res := map[string]any{"Id": e.Id, "MessageId": m.ID, "MD5OfMessageBody": bodyMD5(m.Body)}
		if a := attributesMD5(m.Attributes); a != "" {
			res["MD5OfMessageAttributes"] = a
		}
		ok = append(ok, res)
	}
	close(s.wake)
	s.wake = make(chan struct{})
	if !batch {
		if len(ok) == 0 {
			return nil, apiErr(400, "InvalidParameterValue", "InvalidParameterValue", "invalid message")
		}
		delete(ok[0], "Id")
		return ok[0], nil
	}
	if ok == nil {
		ok = []map[string]any{}
	}
	if failed == nil {
		failed = []batchError{}
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func size(e sendEntry) int {
	n := 0
	if e.MessageBody != nil {
		n += len(*e.MessageBody)
	}
	for k, a := range e.MessageAttributes {
		n += len(k) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

// check returns why SQS would refuse an entry, or "".
func check(e sendEntry) string {
	switch {
	case e.MessageBody == nil || *e.MessageBody == "":
		return "The request must contain the parameter MessageBody."
	case !utf8.ValidString(*e.MessageBody):
		return "Invalid binary character in message body."
	case size(e) > MaxMessageBytes:
		return fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", MaxMessageBytes)
	case len(e.MessageAttributes) > 10:
		return "Number of message attributes [" + strconv.Itoa(len(e.MessageAttributes)) + "] exceeds the allowed maximum [10]."
	case e.DelaySeconds < 0 || e.DelaySeconds > 900:
		return "Value for parameter DelaySeconds is invalid."
	}
	for k, a := range e.MessageAttributes {
		if a.DataType == "" {
			return "The message attribute '" + k + "' must contain non-empty message attribute type."
		}
		if isBinary(a.DataType) && len(a.BinaryValue) == 0 || !isBinary(a.DataType) && a.StringValue == "" {
			return "The message attribute '" + k + "' must contain non-empty message attribute value."
		}
	}
	return ""
}

type receiveInput struct {
	QueueUrl                    string
	MaxNumberOfMessages         int
	VisibilityTimeout           *int
	WaitTimeSeconds             int
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
}

func (s *Server) receive(ctx context.Context, in receiveInput) (any, error) {
	max := in.MaxNumberOfMessages
	if max == 0 {
		max = 1
	}
	if max < 1 || max > MaxReceive {
		return nil, apiErr(400, "InvalidParameterValue", "InvalidParameterValue", "Value "+strconv.Itoa(max)+" for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")
	}
	wait := time.Duration(in.WaitTimeSeconds) * time.Second
	if wait > maxWait {
		wait = maxWait
	}
	// Long polling waits in real time, whatever Config.Now says: it is about
	// the caller's patience, not about message state.
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		q, err := s.lookupLocked(in.QueueUrl)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		msgs := s.takeLocked(q, max, in)
		wake := s.wake
		s.mu.Unlock()
		left := time.Until(deadline)
		if len(msgs) > 0 || left <= 0 {
			return map[string]any{"Messages": msgs}, nil
		}
		t := time.NewTimer(left)
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return map[string]any{"Messages": []any{}}, nil
		}
		t.Stop()
	}
}

func (s *Server) takeLocked(q *queue, max int, in receiveInput) []map[string]any {
	now := s.cfg.Now()
	vis := q.visibility
	if in.VisibilityTimeout != nil {
		vis = time.Duration(*in.VisibilityTimeout) * time.Second
	}
	sysNames := append(append([]string{}, in.AttributeNames...), in.MessageSystemAttributeNames...)
	out := []map[string]any{}
	kept := q.messages[:0]
	var moved []*message
	for _, m := range q.messages {
		if len(out) >= max || m.visibleAt.After(now) {
			kept = append(kept, m)
			continue
		}
		if q.maxReceive > 0 && m.ReceiveCount >= q.maxReceive {
			if dlq := s.queues[q.dlq]; dlq != nil && dlq != q {
				moved = append(moved, m)
				continue
			}
		}
		m.ReceiveCount++
		if m.firstReceived.IsZero() {
			m.firstReceived = now
		}
		m.visibleAt = now.Add(vis)
		m.receipt = newID() + "#" + m.ID
		kept = append(kept, m)
		res := map[string]any{
			"MessageId":     m.ID,
			"ReceiptHandle": m.receipt,
			"Body":          m.Body,
			"MD5OfBody":     bodyMD5(m.Body),
		}
		if sys := systemAttributes(m, sysNames); len(sys) > 0 {
			res["Attributes"] = sys
		}
		if attrs := selectAttributes(m.Attributes, in.MessageAttributeNames); len(attrs) > 0 {
			res["MessageAttributes"] = attrs
			res["MD5OfMessageAttributes"] = attributesMD5(attrs)
		}
		out = append(out, res)
	}
	q.messages = kept
	// A message received maxReceiveCount times without being deleted moves
	// to the dead-letter queue on its next receive, as SQS does.
	for _, m := range moved {
		dlq := s.queues[q.dlq]
		m.visibleAt = time.Time{}
		dlq.messages = append(dlq.messages, m)
	}
	return out
}

func systemAttributes(m *message, names []string) map[string]string {
	all := map[string]string{
		"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
		"SentTimestamp":                    strconv.FormatInt(m.SentAt.UnixMilli(), 10),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.firstReceived.UnixMilli(), 10),
		"SenderId":                         "AIDAHERALDLOCAL",
	}
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out
}

func selectAttributes(attrs map[string]Attribute, names []string) map[string]Attribute {
	out := map[string]Attribute{}
	for _, n := range names {
		for k, v := range attrs {
			if n == "All" || n == ".*" || n == k || strings.HasSuffix(n, ".*") && strings.HasPrefix(k, strings.TrimSuffix(n, "*")) {
				out[k] = v
			}
		}
	}
	return out
}

func (s *Server) delete(url, receipt string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookupLocked(url)
	if err != nil {
		return err
	}
	for i, m := range q.messages {
		if m.receipt != "" && m.receipt == receipt {
			q.messages = append(q.messages[:i], q.messages[i+1:]...)
			return nil
		}
	}
	// SQS accepts a stale receipt handle of a message already deleted; a
	// handle it never issued is refused.
	if !strings.Contains(receipt, "#") {
		return apiErr(400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle \""+receipt+"\" is not a valid receipt handle.")
	}
	return nil
}

// changeVisibility sets when a received message becomes visible again: 0
// returns it to the queue at once (what a consumer does with a message it
// gives up on).
func (s *Server) changeVisibility(url, receipt string, seconds int) error {
	if seconds < 0 || seconds > 43200 {
		return apiErr(400, "InvalidParameterValue", "InvalidParameterValue", "Value "+strconv.Itoa(seconds)+" for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookupLocked(url)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	for _, m := range q.messages {
		if m.receipt != "" && m.receipt == receipt {
			if !m.visibleAt.After(now) {
				break
			}
			m.visibleAt = now.Add(time.Duration(seconds) * time.Second)
			if seconds == 0 {
				close(s.wake)
				s.wake = make(chan struct{})
			}
			return nil
		}
	}
	return apiErr(400, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "Message does not exist or is not available for visibility timeout change.")
}

func (s *Server) deleteBatch(url string, entries []struct{ Id, ReceiptHandle string }) (any, error) {
	if len(entries) == 0 {
		return nil, apiErr(400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one DeleteMessageBatchRequestEntry in the request.")
	}
	if len(entries) > MaxBatchEntries {
		return nil, apiErr(400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10.")
	}
	ok := []map[string]string{}
	failed := []batchError{}
	for _, e := range entries {
		if err := s.delete(url, e.ReceiptHandle); err != nil {
			ae := err.(*apiError)
			if ae.typ == "QueueDoesNotExist" {
				return nil, err
			}
			failed = append(failed, batchError{Id: e.Id, Code: ae.typ, Message: ae.msg, SenderFault: true})
			continue
		}
		ok = append(ok, map[string]string{"Id": e.Id})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}
