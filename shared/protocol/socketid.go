package protocol

// ValidSocketID reports whether s is a socket id as Pusher defines it: two
// dot-separated integers, ^\d+\.\d+$ with ASCII digits (the form every
// Pusher server library checks). Signed strings put ':' after the socket
// id, so a looser rule could let one signature pass for another string.
func ValidSocketID(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return digits(s[:i]) && digits(s[i+1:])
		}
	}
	return false
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
