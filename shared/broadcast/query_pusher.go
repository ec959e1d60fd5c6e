package broadcast

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	pusher "github.com/pusher/pusher-http-go/v5"

	"github.com/heraldrt/herald/shared/protocol"
	"github.com/heraldrt/herald/shared/signature"
)

// The queries go through pusher-http-go's own calls; their answers are read
// from the recorded body rather than from the SDK's types, which drop
// subscription_count from listings and cannot tell a zero count from one
// not asked for.

// Channels implements Querier.
func (p *Pusher) Channels(ctx context.Context, prefix string, info protocol.Info) (map[string]Counts, error) {
	var params pusher.ChannelsParams
	if prefix != "" {
		params.FilterByPrefix = &prefix
	}
	if s := infoParam(info); s != "" {
		params.Info = &s
	}
	body, err := p.query(ctx, "channels", func(c *pusher.Client) error {
		_, err := c.Channels(params)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		Channels map[string]Counts `json:"channels"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, &Error{Provider: "pusher", Op: "channels", Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if out.Channels == nil {
		out.Channels = map[string]Counts{}
	}
	return out.Channels, nil
}

// Channel implements Querier.
func (p *Pusher) Channel(ctx context.Context, name string, info protocol.Info) (ChannelState, error) {
	var params pusher.ChannelParams
	if s := infoParam(info); s != "" {
		params.Info = &s
	}
	body, err := p.query(ctx, "channel", func(c *pusher.Client) error {
		_, err := c.Channel(name, params)
		return err
	})
	if err != nil {
		return ChannelState{}, err
	}
	var out ChannelState
	if err := json.Unmarshal(body, &out); err != nil {
		return ChannelState{}, &Error{Provider: "pusher", Op: "channel", Err: fmt.Errorf("reading the answer: %w", err)}
	}
	return out, nil
}

// Users implements Querier.
func (p *Pusher) Users(ctx context.Context, name string) ([]string, error) {
	body, err := p.query(ctx, "users", func(c *pusher.Client) error {
		_, err := c.GetChannelUsers(name)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, &Error{Provider: "pusher", Op: "users", Err: fmt.Errorf("reading the answer: %w", err)}
	}
	ids := make([]string, 0, len(out.Users))
	for _, u := range out.Users {
		ids = append(ids, u.ID)
	}
	return ids, nil
}

// TerminateUser implements Querier. pusher-http-go has no call for it, so
// the request is signed here with the driver's credentials.
func (p *Pusher) TerminateUser(ctx context.Context, userID string) error {
	return p.post(ctx, "terminate_connections", "/users/"+userID+"/terminate_connections", []byte("{}"))
}

// query runs one pusher-http-go call bound to ctx and returns the body of
// its 2xx answer.
func (p *Pusher) query(ctx context.Context, op string, do func(*pusher.Client) error) ([]byte, error) {
	rec := &response{}
	client := p.base
	client.HTTPClient = &http.Client{Transport: p.transport.with(withResponse(ctx, rec))}
	if err := classify("pusher", op, rec, do(&client)); err != nil {
		return nil, err
	}
	_, body, _ := rec.get()
	return body, nil
}

// post sends a signed POST under /apps/{app_id} for what pusher-http-go
// cannot send as it is.
func (p *Pusher) post(ctx context.Context, op, path string, body []byte) error {
	rec := &response{}
	path = "/apps/" + p.base.AppID + path
	q := signature.SignRequest(http.MethodPost, path, nil, body, p.base.Key, p.base.Secret, time.Now())
	scheme := "https"
	if !p.base.Secure {
		scheme = "http"
	}
	req, err := http.NewRequestWithContext(withResponse(ctx, rec), http.MethodPost, scheme+"://"+p.base.Host+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return &Error{Provider: "pusher", Op: op, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: p.transport}).Do(req)
	if err == nil {
		resp.Body.Close() // read whole by the transport
	}
	return classify("pusher", op, rec, err)
}

// infoParam is info as Pusher's info parameter.
func infoParam(info protocol.Info) string {
	switch {
	case info.UserCount && info.SubscriptionCount:
		return "user_count,subscription_count"
	case info.UserCount:
		return "user_count"
	case info.SubscriptionCount:
		return "subscription_count"
	}
	return ""
}
