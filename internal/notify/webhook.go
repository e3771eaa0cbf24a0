package notify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
)

// Webhook posts through a Slack incoming webhook. Webhooks post to the channel chosen when they were created;
// they cannot thread, edit, or tell the message's timestamp, so Post returns no TS and Update fails. Buttons
// are sent, but clicks reach Slipway only if the webhook's app has interactivity set up.
type Webhook struct {
	url     string // a secret: it is the credential
	channel string
	client  *http.Client
}

// NewWebhook builds the webhook backend. channel is only reported back in PostResult (a webhook's channel is
// fixed); client nil means a client with a 30s timeout. Errors wrap ErrInvalidConfig and never quote the URL.
func NewWebhook(webhookURL, channel string, client *http.Client) (*Webhook, error) {
	u, err := url.Parse(webhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: slack webhook URL: want http(s)://host/path (the URL is not shown: it is a secret)", ErrInvalidConfig)
	}
	return &Webhook{url: webhookURL, channel: channel, client: orDefaultClient(client)}, nil
}

// Post sends msg. thread is ignored: a webhook cannot reply in a thread (it never learns a message's TS).
func (w *Webhook) Post(ctx context.Context, msg Message, _ string) (PostResult, error) {
	blocks, err := Blocks(msg)
	if err != nil {
		return PostResult{}, fmt.Errorf("slack webhook: %w", err)
	}
	f := false
	wm := &slack.WebhookMessage{
		Text:        FallbackText(msg),
		Blocks:      &slack.Blocks{BlockSet: blocks},
		UnfurlLinks: &f,
		UnfurlMedia: &f,
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, w.url, w.client, wm); err != nil {
		return PostResult{}, classify("webhook", err, w.url)
	}
	return PostResult{Channel: w.channel, Sent: true}, nil
}

// Update fails: webhooks cannot edit messages. The error wraps ErrInvalidConfig (a bot token can).
func (w *Webhook) Update(context.Context, string, string, Message) error {
	return fmt.Errorf("slack webhook: %w: incoming webhooks cannot edit messages (configure a bot token)", ErrInvalidConfig)
}

// String names the backend, for logs (without the URL).
func (w *Webhook) String() string { return "slack incoming webhook" }
