package protocol

import "testing"

func TestParseInfo(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Info
		err  bool
	}{
		{"", Info{}, false},
		{"user_count", Info{UserCount: true}, false},
		{"user_count, subscription_count", Info{UserCount: true, SubscriptionCount: true}, false},
		{"occupied", Info{}, true},
	} {
		got, err := ParseInfo(tc.in)
		if (err != nil) != tc.err || (err == nil && got != tc.want) {
			t.Errorf("ParseInfo(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if err := CheckInfo(Info{UserCount: true}, "news"); err == nil {
		t.Error("user_count on a public channel was accepted")
	}
	if err := CheckInfo(Info{UserCount: true}, ""); err == nil {
		t.Error("user_count without a presence prefix was accepted")
	}
	if err := CheckInfo(Info{UserCount: true, SubscriptionCount: true}, "presence-"); err != nil {
		t.Error(err)
	}
}
