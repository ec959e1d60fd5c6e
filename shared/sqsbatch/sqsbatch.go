package sqsbatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// SQS limits for one SendMessageBatch call.
const (
	MaxEntries = 10
	MaxBytes   = 256 * 1024
)

// API is the part of SQS the sender uses; *sqs.Client implements it. A
// call that fails as a whole returns an error (after the client's own
// retries); entries SQS refused are in the output's Failed.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ API = (*sqs.Client)(nil)

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
	// Code is SQS's error code for the entry or the call, or "" when the
	// call got no answer from SQS.
	Code string
	// SenderFault is SQS's verdict that the message or the call itself is
	// at fault (it will fail again as it is).
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
// A call that fails as a whole is not sent again: the client's retryer has
// already retried it as far as is worth it. Calls run one after another;
// the order of messages is kept.
func Send(ctx context.Context, api API, queueURL string, msgs []Message, attempts int) []error {
	errs := make([]error, len(msgs))
	attempts = max(attempts, 1)
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
// indexes worth another attempt. An entry's Id is its index in chunk.
func sendChunk(ctx context.Context, api API, queueURL string, msgs []Message, chunk []int, errs []error) []int {
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: make([]types.SendMessageBatchRequestEntry, len(chunk))}
	for n, i := range chunk {
		e := types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(n)), MessageBody: aws.String(msgs[i].Body)}
		for k, v := range msgs[i].Attributes {
			if v == "" {
				continue
			}
			if e.MessageAttributes == nil {
				e.MessageAttributes = map[string]types.MessageAttributeValue{}
			}
			e.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
		in.Entries[n] = e
	}
	// The client checks the MD5 of every body SQS reports as received and
	// fails the call when one does not match.
	out, err := api.SendMessageBatch(ctx, in)
	if err != nil {
		ce := callError(err)
		for _, i := range chunk {
			errs[i] = ce
		}
		return nil
	}
	// An entry SQS mentions neither as sent nor as failed was not sent.
	missing := &Error{Err: errors.New("entry missing from the SendMessageBatch response")}
	for _, i := range chunk {
		errs[i] = missing
	}
	for _, s := range out.Successful {
		if n, ok := entry(s.Id, chunk); ok {
			errs[chunk[n]] = nil
		}
	}
	for _, f := range out.Failed {
		if n, ok := entry(f.Id, chunk); ok {
			errs[chunk[n]] = &Error{Code: aws.ToString(f.Code), SenderFault: f.SenderFault, Err: errors.New(aws.ToString(f.Message))}
		}
	}
	var retry []int
	for _, i := range chunk {
		if e, _ := errs[i].(*Error); e != nil && !e.SenderFault {
			retry = append(retry, i)
		}
	}
	return retry
}

// callError classifies a call that failed as a whole: the sender is at
// fault when SQS blames the client and the SDK's retryer does not count
// the error as temporary (a missing queue, a refused parameter; not
// throttling).
func callError(err error) *Error {
	e := &Error{Err: err}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
		e.SenderFault = api.ErrorFault() == smithy.FaultClient &&
			retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary
	}
	return e
}

func entry(id *string, chunk []int) (int, bool) {
	n, err := strconv.Atoi(aws.ToString(id))
	if err != nil || n < 0 || n >= len(chunk) {
		return 0, false
	}
	return n, true
}
