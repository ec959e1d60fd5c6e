package stack

import (
	"context"
	"encoding/json/v2"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/heraldrt/herald/shared/httpapi"
	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// resign makes an HTTP API event to the PublishFunction or the
// WebhookFunction acceptable to the running stack: when its signature does
// not verify with the stack's credentials, it is signed again with them
// (and, for the publish API, the current time and the stack's app id).
// The sample events are signed with Pusher's published example
// credentials at a fixed past time, which any running stack refuses.
// Other events, and events whose signature verifies, are returned as they
// are. note says what was done, naming the credentials but never a secret;
// it is empty when nothing was.
func resign(ctx context.Context, logicalID string, event []byte, env *env, now time.Time) (out []byte, note string, err error) {
	if logicalID != "PublishFunction" && logicalID != "WebhookFunction" {
		return event, "", nil
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, "", fmt.Errorf("the event is not an HTTP API 2.0 event: %w", err)
	}
	r, err := httpapi.Request(ctx, ev)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, "", fmt.Errorf("the event's body: %w", err)
	}
	switch {
	case logicalID == "PublishFunction":
		note = resignPublish(&ev, r.Method, r.URL.Path, r.URL.Query(), body, env, now)
	case r.URL.Path == "/webhooks/pusher":
		note = resignPusherWebhook(&ev, body, env)
	case r.URL.Path == "/webhooks/ably":
		note = resignAblyWebhook(&ev, body, env)
	}
	if note == "" {
		return event, "", nil
	}
	out, err = json.Marshal(ev)
	if err != nil {
		return nil, "", fmt.Errorf("encoding the event: %w", err)
	}
	return out, note, nil
}

// resignPublish signs a Pusher HTTP API request again with PUBLISH_APP_*,
// putting PUBLISH_APP_ID in its path, unless it already verifies with them.
func resignPublish(ev *events.APIGatewayV2HTTPRequest, method, path string, query url.Values, body []byte, env *env, now time.Time) string {
	appID, key, secret := env.Get("PUBLISH_APP_ID"), env.Get("PUBLISH_APP_KEY"), env.Get("PUBLISH_APP_SECRET")
	rest, ok := strings.CutPrefix(path, "/apps/")
	if !ok || key == "" || secret == "" {
		return ""
	}
	given, tail, _ := strings.Cut(rest, "/")
	secretFor := func(k string) (string, bool) { return secret, k == key }
	verr := signature.VerifyRequest(method, path, query, body, secretFor, now)
	if verr == nil && given == appID {
		return ""
	}
	why := "app " + given
	if verr != nil {
		why = fmt.Sprintf("auth_key %s: %v", query.Get("auth_key"), verr)
	}
	if given != appID {
		newPath := "/apps/" + appID + "/" + tail
		ev.RawPath = strings.Replace(ev.RawPath, path, newPath, 1)
		ev.RequestContext.HTTP.Path = strings.Replace(ev.RequestContext.HTTP.Path, path, newPath, 1)
		if ev.PathParameters != nil {
			ev.PathParameters["app_id"] = appID
		}
		path = newPath
	}
	unsigned := url.Values{}
	for k, v := range query {
		if !strings.HasPrefix(k, "auth_") && k != "body_md5" {
			unsigned[k] = v
		}
	}
	var signed []byte
	if method != "GET" {
		signed = body
	}
	q := signature.SignRequest(method, path, unsigned, signed, key, secret, now)
	ev.RawQueryString = q.Encode()
	ev.QueryStringParameters = map[string]string{}
	for k := range q {
		ev.QueryStringParameters[k] = q.Get(k)
	}
	return fmt.Sprintf("the event's signature is not the running stack's (%s): signed it again with PUBLISH_APP_ID=%s, PUBLISH_APP_KEY=%s and its PUBLISH_APP_SECRET at the current time (-keep-signature sends it as it is)",
		why, appID, key)
}

// resignPusherWebhook signs a Pusher webhook again with PUSHER_APP_KEY and
// PUSHER_APP_SECRET unless it already verifies with them.
func resignPusherWebhook(ev *events.APIGatewayV2HTTPRequest, body []byte, env *env) string {
	key, secret := env.Get("PUSHER_APP_KEY"), env.Get("PUSHER_APP_SECRET")
	if key == "" || secret == "" {
		return ""
	}
	want := signature.Webhook(secret, body)
	givenKey := header(ev.Headers, "X-Pusher-Key")
	if givenKey == key && signature.Equal(header(ev.Headers, "X-Pusher-Signature"), want) {
		return ""
	}
	ev.Headers = setHeader(ev.Headers, "X-Pusher-Key", key)
	ev.Headers = setHeader(ev.Headers, "X-Pusher-Signature", want)
	return fmt.Sprintf("the webhook's signature is not the running stack's (X-Pusher-Key %s): signed it again with PUSHER_APP_KEY=%s and its PUSHER_APP_SECRET (-keep-signature sends it as it is)", givenKey, key)
}

// resignAblyWebhook signs an Ably webhook again with ABLY_KEY unless it
// already verifies with it.
func resignAblyWebhook(ev *events.APIGatewayV2HTTPRequest, body []byte, env *env) string {
	k, err := protocol.ParseAblyKey(env.Get("ABLY_KEY"))
	if err != nil {
		return ""
	}
	want := signature.AblyWebhook(k.Secret, body)
	givenKey := header(ev.Headers, "X-Ably-Key")
	if givenKey == k.Name && signature.Equal(header(ev.Headers, "X-Ably-Signature"), want) {
		return ""
	}
	ev.Headers = setHeader(ev.Headers, "X-Ably-Key", k.Name)
	ev.Headers = setHeader(ev.Headers, "X-Ably-Signature", want)
	return fmt.Sprintf("the webhook's signature is not the running stack's (X-Ably-Key %s): signed it again with ABLY_KEY's name %s and its secret (-keep-signature sends it as it is)", givenKey, k.Name)
}

// header reads an event header; API Gateway lowercases their names, a
// hand-written event may not.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// setHeader replaces every spelling of name with API Gateway's lowercase
// one.
func setHeader(h map[string]string, name, value string) map[string]string {
	if h == nil {
		h = map[string]string{}
	}
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
	h[strings.ToLower(name)] = value
	return h
}
