package auth

import "net/http"

// deniedClass is the AuthDenied class of a refusal, by its status:
// Unauthenticated (no or a bad token), Forbidden (the rules said no) or
// Invalid (a malformed request, an unknown path or method). A spike of one
// class reads differently from a spike of another: an expired signing key,
// a rules change, a misconfigured client.
func deniedClass(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "Unauthenticated"
	case http.StatusForbidden:
		return "Forbidden"
	}
	return "Invalid"
}
