package auth

// NewForTest returns a copy of h deciding with r instead of its rules.
func NewForTest(h *Handler, r Rules) *Handler {
	c := *h
	c.rules = r
	return &c
}

// LoadConfig is the configuration FromEnv reads.
var LoadConfig = loadConfig
