package events

import "testing"

// BenchmarkParse_Envelope is the cost every queued message pays before it
// is broadcast: decoding, validation and the payload. A 10,000-message SQS
// batch pays it 10,000 times before the first provider request.
func BenchmarkParse_Envelope(b *testing.B) {
	body := []byte(`{"name":"EmailSent","channels":["private-App.Models.User.42"],"data":{"subject":"Welcome","from":"admin@example.com","preview":"Your account is ready"},"id":"email-7"}`)
	b.ReportAllocs()
	for b.Loop() {
		envs, err := Parse(body, pusherLimits)
		if err != nil || len(envs) != 1 {
			b.Fatal(err)
		}
		if _, err := envs[0].Message("m"); err != nil {
			b.Fatal(err)
		}
	}
}
