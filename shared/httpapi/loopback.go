package httpapi

import (
	"net"
	"net/netip"
	"strings"
)

// Loopback reports whether host (a Host header or URL host, with or
// without a port) names this machine: localhost, a name under .localhost
// (RFC 6761), or a loopback address.
func Loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}
