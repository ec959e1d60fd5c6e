package httpapi

import (
	"net"
	"net/netip"
	"strings"
)

// Loopback reports whether host (a Host header or URL host, with or
// without a port) names this machine: localhost or a loopback address.
// Names under .localhost are not taken: whether they resolve to this
// machine is up to the resolver that fetches them.
func Loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}
