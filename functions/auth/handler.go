package auth

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/heraldrt/herald/functions/auth/rules"
	"github.com/heraldrt/herald/functions/auth/token"
	"github.com/heraldrt/herald/shared/config"
	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/metrics"
	"github.com/heraldrt/herald/shared/protocol"
)

//go:embed channels.yaml
var defaultRules []byte

// DefaultRules returns the rules file that ships with the function.
func DefaultRules() []byte { return append([]byte(nil), defaultRules...) }

// Routes, as Laravel Echo and pusher-js call them by default.
const (
	PathAuth     = "/broadcasting/auth"
	PathUserAuth = "/broadcasting/user-auth"
)

// Verifier checks a bearer token and returns its claims. Its errors are
// shown to the caller, so they must not contain the token.
type Verifier interface {
	Verify(ctx context.Context, raw string) (map[string]any, error)
}

// Rules decides who may join what.
type Rules interface {
	Authorize(ctx context.Context, channel string, claims map[string]any) rules.Decision
	User(ctx context.Context, claims map[string]any) (rules.Member, error)
}

// Handler is the AuthFunction's http.Handler.
type Handler struct {
	verifier        Verifier // nil: only authorizer claims are accepted
	rules           Rules
	signer          signer
	trustAuthorizer bool
	debug           bool
	cors            cors
	log             *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// Deps are what FromEnv would otherwise build. The Lambda entry point
// leaves them empty; tests and the local stack supply their own.
type Deps struct {
	// Logger is the handler's logger; nil means slog.Default().
	Logger *slog.Logger
}

// FromEnv builds the AuthFunction's handler from its configuration (the
// Env* variables), as its Lambda entry point does once at init: it
// compiles the rules and, with a JWKS URL, fetches the keys. Everything
// slow happens here, once per cold start. ctx bounds background JWKS
// refreshes.
func FromEnv(ctx context.Context, env config.Lookup, deps Deps) (*Handler, error) {
	c, err := loadConfig(env)
	if err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	rs, err := rules.Parse(c.Rules, c.RulesSource, rules.MaxBytes(c.RulesMaxBytes))
	if err != nil {
		return nil, err
	}
	h := &Handler{
		rules:           rs,
		signer:          newSigner(c.Connection, c.Key, c.Secret, c.MasterKey),
		trustAuthorizer: c.TrustAuthorizer,
		debug:           c.Debug,
		cors:            newCORS(c.CORSOrigins),
		log:             log,
	}
	if c.Token.Secret != "" || c.Token.JWKSURL != "" {
		tc := c.Token
		tc.Logger = log
		v, err := token.New(ctx, tc)
		if err != nil {
			return nil, err
		}
		h.verifier = v
	}
	return h, nil
}

// ServeHTTP routes the two endpoints. It never lets a refusal look like
// success: nothing is written before a decision, and a bug that panics
// still ends as a 500 rather than a crashed invocation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(r.Context(), "auth: internal error", "panic", fmt.Sprint(p), "path", r.URL.Path)
			writeJSON(w, http.StatusInternalServerError, errorResponse{Error: "internal error"})
		}
	}()
	w.Header().Set("Cache-Control", "no-store")
	h.cors.headers(w, r)
	path := r.URL.Path
	if path != PathAuth && path != PathUserAuth {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("no such endpoint %q: use POST %s or %s", path, PathAuth, PathUserAuth))
		return
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		h.cors.preflight(w, r)
		return
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use POST", r.Method, path))
		return
	}
	if path == PathAuth {
		h.channelAuth(w, r)
	} else {
		h.userAuth(w, r)
	}
}

func (h *Handler) channelAuth(w http.ResponseWriter, r *http.Request) {
	req, err := readRequest(r, true)
	if err != nil {
		h.failRequest(w, r, err)
		return
	}
	kind := protocol.KindOf(req.ChannelName)
	if err := h.signer.supports(kind); err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error(), slog.String("channel", req.ChannelName))
		return
	}
	claims, err := h.identify(r)
	if err != nil {
		h.fail(w, r, http.StatusUnauthorized, err.Error(), slog.String("channel", req.ChannelName))
		return
	}
	d := h.rules.Authorize(r.Context(), req.ChannelName, claims)
	if !d.Allowed {
		h.forbid(w, r, d.Rule, d.Reason, slog.String("channel", req.ChannelName), subject(claims))
		return
	}
	var resp channelResponse
	switch kind {
	case protocol.Presence:
		data, err := presenceData(d.Member)
		if err != nil {
			h.forbid(w, r, d.Rule, fmt.Sprintf("rule %s: %v", d.Rule, err), slog.String("channel", req.ChannelName), subject(claims))
			return
		}
		resp = channelResponse{Auth: h.signer.Channel(req.SocketID, req.ChannelName, data), ChannelData: data}
	case protocol.PrivateEncrypted:
		resp = channelResponse{Auth: h.signer.Channel(req.SocketID, req.ChannelName, ""), SharedSecret: h.signer.sharedSecret(req.ChannelName)}
	default:
		resp = channelResponse{Auth: h.signer.Channel(req.SocketID, req.ChannelName, "")}
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "channel authorized", slog.String("channel", req.ChannelName), slog.String("rule", d.Rule), subject(claims))
	metrics.From(r.Context()).Add(metrics.AuthGranted, 1)
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) userAuth(w http.ResponseWriter, r *http.Request) {
	req, err := readRequest(r, false)
	if err != nil {
		h.failRequest(w, r, err)
		return
	}
	claims, err := h.identify(r)
	if err != nil {
		h.fail(w, r, http.StatusUnauthorized, err.Error())
		return
	}
	m, err := h.rules.User(r.Context(), claims)
	if err != nil {
		h.forbid(w, r, userRule, err.Error(), subject(claims))
		return
	}
	data, err := userData(m)
	if err != nil {
		h.forbid(w, r, userRule, "user: "+err.Error(), subject(claims))
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "user signed in", subject(claims))
	metrics.From(r.Context()).Add(metrics.AuthGranted, 1)
	writeJSON(w, http.StatusOK, userResponse{Auth: h.signer.User(req.SocketID, data), UserData: data})
}

// bearerHint tells a developer whose pusher-js sends no token where to
// configure one.
const bearerHint = "send Authorization: Bearer <jwt> (pusher-js: channelAuthorization.headers / userAuthentication.headers)"

// identify returns the caller's verified claims: from API Gateway's JWT
// authorizer when trusted and present, else from the bearer token.
func (h *Handler) identify(r *http.Request) (map[string]any, error) {
	if h.trustAuthorizer {
		if c, ok := httpapi.Claims(r.Context()); ok {
			claims := make(map[string]any, len(c))
			for k, v := range c {
				claims[k] = v
			}
			return claims, nil
		}
	}
	if h.verifier == nil {
		return nil, errors.New("no verified claims: this function only trusts API Gateway's JWT authorizer, and the request did not pass one")
	}
	raw, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, errors.New("no bearer token: " + bearerHint)
	}
	claims, err := h.verifier.Verify(r.Context(), raw)
	if err != nil {
		return nil, err
	}
	return claims, nil
}

func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// subject logs who asked, by their sub claim: an identifier, not a secret.
func subject(claims map[string]any) slog.Attr {
	s, _ := claims["sub"].(string)
	return slog.String("sub", s)
}

func (h *Handler) failRequest(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadRequest
	var re *requestError
	if errors.As(err, &re) {
		status = re.status
	}
	h.fail(w, r, status, err.Error())
}

// userRule names the rules file's user section in a debug 403.
const userRule = "user"

// forbid answers 403 "forbidden". Which rule refused, and why, is logged;
// with AUTH_DEBUG the rule's name is added to the answer, never the
// reason (an evaluation error can quote claims and patterns).
func (h *Handler) forbid(w http.ResponseWriter, r *http.Request, rule, reason string, attrs ...slog.Attr) {
	h.logRefusal(r, http.StatusForbidden, reason, append(attrs, slog.String("rule", rule))...)
	resp := forbiddenResponse{Error: "forbidden"}
	if h.debug {
		resp.Rule = rule
		if rule == "" {
			resp.Rule = "(no rule matches)"
		}
	}
	writeJSON(w, http.StatusForbidden, resp)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string, attrs ...slog.Attr) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="broadcasting"`)
	}
	h.logRefusal(r, status, msg, attrs...)
	writeJSON(w, status, errorResponse{Error: msg})
}

func (h *Handler) logRefusal(r *http.Request, status int, reason string, attrs ...slog.Attr) {
	all := make([]slog.Attr, 0, 3+len(attrs))
	all = append(all, slog.Int("status", status), slog.String("path", r.URL.Path), slog.String("reason", reason))
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "auth refused", append(all, attrs...)...)
	metrics.From(r.Context()).AddClass(metrics.AuthDenied, deniedClass(status), 1)
}
