package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/heraldrt/herald/functions/queue"
	"github.com/heraldrt/herald/infra/ratelimit"
	pusherserver "github.com/heraldrt/herald/infra/server"
	"github.com/heraldrt/herald/shared/broadcast"
	"github.com/heraldrt/herald/shared/config"
	heralddelivery "github.com/heraldrt/herald/shared/delivery"
	"github.com/heraldrt/herald/shared/retry"
)

// backpressure is the rate-limit part: one SQS batch of messages through
// the queue function's handler (the real pusher driver under the retry
// layer, as the functions build it) against infra/server behind a
// ratelimit stand-in that admits rate requests per second. What the
// handler reports for retry is delivered again at once, in the same
// process (a warm container), until nothing is left or maxInvocations.
type backpressure struct {
	messages       int
	rate           float64
	rtt            time.Duration
	timeout        time.Duration // the function's timeout: each invocation's deadline
	maxInvocations int
}

// backpressureResult is what one run measured.
type backpressureResult struct {
	Messages       int
	Rate           float64
	Invocations    int
	FirstWall      time.Duration // the first invocation, start to answer
	FirstRetry     int           // messages the first invocation reported for retry
	FirstRequests  int           // requests of the first invocation
	FirstRefused   int           // of them refused
	FirstAccepted  float64       // accepted requests per second during the first invocation
	Requests       int           // every trigger and batch_events request the stand-in saw
	Refused        int           // of them answered 429
	Span           time.Duration // first request to the last accepted answer
	Delivered      int           // distinct events accepted
	Lost           int           // events never accepted after every invocation
	Duplicated     int           // events accepted more than once
	AcceptedPerSec float64
}

// RefusedShare is the refused fraction of all requests.
func (r backpressureResult) RefusedShare() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Refused) / float64(r.Requests)
}

// Goodput is the accepted requests per second over the span, as a
// fraction of the limit.
func (r backpressureResult) Goodput() float64 { return r.AcceptedPerSec / r.Rate }

func (b backpressure) run(ctx context.Context) (backpressureResult, error) {
	srv, err := pusherserver.New(pusherserver.Config{Apps: []pusherserver.App{{ID: benchAppID, Key: benchKey, Secret: benchSecret}}})
	if err != nil {
		return backpressureResult{}, err
	}
	stand := ratelimit.Wrap(srv.Handler(), ratelimit.Limits{AppRate: b.rate, Latency: b.rtt})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return backpressureResult{}, err
	}
	hs := &http.Server{Handler: stand}
	go hs.Serve(ln)
	defer hs.Close()

	d, err := broadcast.NewPusher(broadcast.PusherConfig{AppID: benchAppID, Key: benchKey, Secret: benchSecret,
		Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Scheme: "http"})
	if err != nil {
		return backpressureResult{}, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := queue.FromEnv(ctx, config.Map(nil), queue.Deps{Driver: heralddelivery.Guard(d, retry.Policy{}, nil, logger), Logger: logger})
	if err != nil {
		return backpressureResult{}, err
	}

	ev := sqsBatch(b.messages)
	res := backpressureResult{Messages: b.messages, Rate: b.rate}
	for res.Invocations < b.maxInvocations && len(ev.Records) > 0 {
		res.Invocations++
		ictx, cancel := context.WithTimeout(ctx, b.timeout)
		start := time.Now()
		resp, err := h.Handle(ictx, ev)
		cancel()
		if err != nil && ctx.Err() != nil {
			return res, err
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		if err != nil { // the whole batch comes back
			for _, r := range ev.Records {
				failed[r.MessageId] = true
			}
		}
		if res.Invocations == 1 {
			res.FirstWall, res.FirstRetry = time.Since(start), len(failed)
			st := stand.Stats()
			res.FirstRequests, res.FirstRefused = st.Requests, st.Refused
			res.FirstAccepted = float64(st.Requests-st.Refused-st.Failed) / res.FirstWall.Seconds()
		}
		var again []events.SQSMessage
		for _, r := range ev.Records {
			if failed[r.MessageId] {
				again = append(again, r)
			}
		}
		ev.Records = again
	}

	st := stand.Stats()
	res.Requests, res.Refused, res.Duplicated = st.Requests, st.Refused, stand.Duplicates()
	res.Span = st.Last.Sub(st.First)
	if res.Span > 0 {
		res.AcceptedPerSec = float64(st.Requests-st.Refused-st.Failed) / res.Span.Seconds()
	}
	for i := range b.messages {
		if stand.Delivered(benchAppID, "private-App.Models.User."+strconv.Itoa(i+1), "OrderShipped", sqsData(i)) > 0 {
			res.Delivered++
		}
	}
	res.Lost = b.messages - res.Delivered
	return res, nil
}

func (r backpressureResult) String() string {
	return fmt.Sprintf("%d messages at %.0f requests/s: first invocation %.1f s, %d reported for retry, %d requests, %d refused, goodput %.2fx; %d invocation(s); %d requests, %d refused (%s); goodput %.2fx the limit over %.1f s; %d lost, %d duplicated",
		r.Messages, r.Rate, r.FirstWall.Seconds(), r.FirstRetry, r.FirstRequests, r.FirstRefused, r.FirstAccepted/r.Rate, r.Invocations, r.Requests, r.Refused, pct(r.RefusedShare()), r.Goodput(), r.Span.Seconds(), r.Lost, r.Duplicated)
}

// sqsData is the data the event of sqsBatch's message i carries, as the
// provider receives it.
func sqsData(i int) string {
	return fmt.Sprintf(`{"order_id":%d,"status":"shipped","carrier":"DHL"}`, 1000+i)
}

// functionTimeout is the queue function's Timeout in template.yaml: each
// invocation's deadline.
const functionTimeout = 30 * time.Second

// backpressureTable renders the rate-limit part with its targets.
func (r *report) backpressureTable(b *strings.Builder) {
	bp := r.backpressure
	fmt.Fprintf(b, "\n## Backpressure: %d messages, a provider admitting %.0f requests/s\n\n", bp.Messages, bp.Rate)
	fmt.Fprintf(b, "One SQS batch through the queue function's handler (pusher driver, retry layer) against infra/server behind the ratelimit stand-in "+
		"(a token bucket of %.0f requests/s holding one second's worth; 429 with Retry-After beyond it; answers %v after arrival). "+
		"What the handler reports for retry is delivered again at once in the same process, up to 20 invocations of at most %v each.\n\n",
		bp.Rate, r.opts.rtt, functionTimeout)
	fmt.Fprintf(b, "| measurement | value | target |\n|---|---|---|\n")
	fmt.Fprintf(b, "| first invocation | %.1f s, %d of %d reported for retry; %d requests, %d refused (%s); goodput %.2fx the limit | |\n",
		bp.FirstWall.Seconds(), bp.FirstRetry, bp.Messages, bp.FirstRequests, bp.FirstRefused, pct(float64(bp.FirstRefused)/float64(max(bp.FirstRequests, 1))), bp.FirstAccepted/bp.Rate)
	fmt.Fprintf(b, "| invocations until all delivered | %d | |\n", bp.Invocations)
	fmt.Fprintf(b, "| requests | %d, %d refused | |\n", bp.Requests, bp.Refused)
	fmt.Fprintf(b, "| refused share of requests | %s | %s |\n", pct(bp.RefusedShare()), r.judge("backpressure: refused requests", "at most 10%", atMost(100*bp.RefusedShare(), 10, "%")))
	fmt.Fprintf(b, "| goodput (accepted requests/s over %.1f s, / limit) | %.2f | %s |\n", bp.Span.Seconds(), bp.Goodput(), r.judge("backpressure: goodput / limit", "at least 0.85", atLeast(bp.Goodput(), 0.85, "")))
	fmt.Fprintf(b, "| lost | %d | %s |\n", bp.Lost, r.judge("backpressure: lost messages", "0", none(bp.Lost)))
	fmt.Fprintf(b, "| duplicated | %d | |\n", bp.Duplicated)
}

// none judges a count that must be zero.
func none(n int) string {
	if n == 0 {
		return "PASS (0)"
	}
	return fmt.Sprintf("**MISS** (%d)", n)
}
