package sqsbatch

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// SQS limits for one SendMessageBatch call.
const (
	MaxEntries = 10
	MaxBytes   = 256 * 1024
)

// API is the part of SQS the sender uses; *Client implements it. A call
// that fails as a whole returns an error; entries SQS refused are in the
// output's Failed.
type API interface {
	SendMessageBatch(ctx context.Context, in *SendMessageBatchInput) (*SendMessageBatchOutput, error)
}

// Message is one message to queue.
type Message struct {
	Body string
	// Attributes are string message attributes; empty values are left out
	// (SQS refuses them).
	Attributes map[string]string
}

// Size is what the message counts against SQS's 256 KiB limit: the body
// plus each attribute's name, type and value.
func (m Message) Size() int {
	n := len(m.Body)
	for k, v := range m.Attributes {
		if v != "" {
			n += len(k) + len("String") + len(v)
		}
	}
	return n
}

// ErrTooLarge is returned for a message that no SQS call can carry.
var ErrTooLarge = errors.New("message exceeds the SQS size limit of 256 KiB")

// Error is a message SQS refused, or a call that failed.
type Error struct {
	// Code is SQS's error code for the entry, or "" when the whole call failed.
	Code string
	// SenderFault is SQS's verdict that the entry itself is at fault (it
	// will fail again as it is).
	SenderFault bool
	Err         error
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("sqs: %s: %v", e.Code, e.Err)
	}
	return "sqs: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Send queues msgs to queueURL and returns one error per message, nil for
// each one SQS accepted. Entries SQS failed without blaming the sender
// (throttling, internal errors) are sent again up to attempts times in all.
// Calls run one after another; the order of messages is kept.
func Send(ctx context.Context, api API, queueURL string, msgs []Message, attempts int) []error {
	errs := make([]error, len(msgs))
	if attempts < 1 {
		attempts = 1
	}
	pending := make([]int, 0, len(msgs))
	for i, m := range msgs {
		if m.Size() > MaxBytes {
			errs[i] = &Error{SenderFault: true, Err: ErrTooLarge}
			continue
		}
		pending = append(pending, i)
	}
	for try := 0; try < attempts && len(pending) > 0; try++ {
		var retry []int
		for _, chunk := range chunks(msgs, pending) {
			again := sendChunk(ctx, api, queueURL, msgs, chunk, errs)
			retry = append(retry, again...)
		}
		pending = retry
		if ctx.Err() != nil {
			break
		}
	}
	return errs
}

// chunks groups message indexes into calls of at most MaxEntries entries
// and MaxBytes bytes.
func chunks(msgs []Message, idx []int) [][]int {
	var out [][]int
	var cur []int
	size := 0
	for _, i := range idx {
		s := msgs[i].Size()
		if len(cur) == MaxEntries || len(cur) > 0 && size+s > MaxBytes {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += s
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendChunk sends one call, records outcomes in errs and returns the
// indexes worth another attempt.
func sendChunk(ctx context.Context, api API, queueURL string, msgs []Message, chunk []int, errs []error) []int {
	in := &SendMessageBatchInput{QueueUrl: queueURL}
	for n, i := range chunk {
		e := SendMessageBatchRequestEntry{Id: strconv.Itoa(n), MessageBody: msgs[i].Body}
		for k, v := range msgs[i].Attributes {
			if v == "" {
				continue
			}
			if e.MessageAttributes == nil {
				e.MessageAttributes = map[string]MessageAttributeValue{}
			}
			e.MessageAttributes[k] = MessageAttributeValue{DataType: "String", StringValue: v}
		}
		in.Entries = append(in.Entries, e)
	}
	out, err := api.SendMessageBatch(ctx, in)
	if err != nil {
		for _, i := range chunk {
			errs[i] = &Error{Err: err}
		}
		return chunk
	}
	var retry []int
	for _, s := range out.Successful {
		n, ok := entry(s.Id, chunk)
		if !ok {
			continue
		}
		// As the SDK does: a body SQS did not receive intact is not
		// queued as sent, so it is sent again.
		if s.MD5OfMessageBody != "" && s.MD5OfMessageBody != md5Hex(msgs[chunk[n]].Body) {
			errs[chunk[n]] = &Error{Err: errChecksum}
			retry = append(retry, chunk[n])
			continue
		}
		errs[chunk[n]] = nil
	}
	for _, f := range out.Failed {
		n, ok := entry(f.Id, chunk)
		if !ok {
			continue
		}
		errs[chunk[n]] = &Error{Code: f.Code, SenderFault: f.SenderFault, Err: errors.New(f.Message)}
		if !f.SenderFault {
			retry = append(retry, chunk[n])
		}
	}
	// An entry SQS mentioned neither as sent nor as failed was not sent.
	seen := map[string]bool{}
	for _, s := range out.Successful {
		seen[s.Id] = true
	}
	for _, f := range out.Failed {
		seen[f.Id] = true
	}
	for n, i := range chunk {
		if !seen[strconv.Itoa(n)] {
			errs[i] = &Error{Err: errors.New("entry missing from the SendMessageBatch response")}
			retry = append(retry, i)
		}
	}
	return retry
}

var errChecksum = errors.New("the MD5 of the body SQS received does not match the body sent")

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func entry(id string, chunk []int) (int, bool) {
	n, err := strconv.Atoi(id)
	if err != nil || n < 0 || n >= len(chunk) {
		return 0, false
	}
	return n, true
}
