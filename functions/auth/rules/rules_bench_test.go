package rules_test

import (
	"context"
	"testing"
)

// Target, printed with the results: deciding a channel is a small part of a
// warm auth request (see functions/auth's benchmarks). Measured, never
// asserted.
const benchTarget = "target: < 3 µs/op and < 16 allocs/op per decision for the sample rules"

// BenchmarkAuthorize_Private is the common case: one pattern match and an
// equality on a claim.
func BenchmarkAuthorize_Private(b *testing.B) {
	benchAuthorize(b, "private-App.Models.User.1")
}

// BenchmarkAuthorize_Presence adds list membership and the member id and
// info expressions.
func BenchmarkAuthorize_Presence(b *testing.B) {
	benchAuthorize(b, "presence-chat.ops")
}

// BenchmarkAuthorize_TwoParams has a conjunction with a string method.
func BenchmarkAuthorize_TwoParams(b *testing.B) {
	benchAuthorize(b, "private-orders.acme-o17")
}

func benchAuthorize(b *testing.B, name string) {
	s := mustParse(b, sample)
	ctx := context.Background()
	if d := s.Authorize(ctx, name, alice); !d.Allowed {
		b.Fatalf("%s: %s", name, d.Reason)
	}
	b.Log(benchTarget)
	b.ReportAllocs()
	for b.Loop() {
		if d := s.Authorize(ctx, name, alice); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}

// BenchmarkParse is the start-up cost of compiling the sample rules.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mustParse(b, sample)
	}
}
