package httpapi

import "testing"

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST:3000": true, "localhost.": true, "app.localhost": false,
		"127.0.0.1": true, "127.0.0.1:3000": true, "127.1.2.3": true, "[::1]:3000": true, "::1": true,
		"": false, "example.com": false, "localhost.example.com": false, "evil-localhost": false,
		"10.0.0.1": false, "0.0.0.0": false, "[::]:3000": false, "127.0.0.1.nip.io": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}
