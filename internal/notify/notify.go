// Package notify tells people what a release is doing. One small interface, Notifier, stands for the outside
// world; each backend lives in its own file: slack.go (a bot token: threads and edits) and webhook.go (an
// incoming webhook: plain posts). Disabled stands in when neither is configured. Nothing here knows about
// Temporal: the activities in package activities turn these errors into retry decisions.
//
// Secrets (the bot token, the webhook URL) are read from the worker's environment (ConfigFromEnv); they never
// appear in messages, errors or logs.
package notify

import (
	"cmp"
	"context"
	"fmt"
)

// Colors of a message: how good the news is.
const (
	ColorGood    = "good"
	ColorWarning = "warning"
	ColorDanger  = "danger"
)

// Styles of an action button ("" is the default, neutral style).
const (
	StylePrimary = "primary"
	StyleDanger  = "danger"
)

// Message is a backend-neutral notification. Every text field is plain text: backends escape it, so a commit
// message or an app's error cannot ping a channel or forge a link. Mentions are the only way to notify people.
type Message struct {
	// Title is the headline, e.g. "shop v1.2.3: staging deploy succeeded".
	Title string `json:"title,omitempty"`
	// Text is the body, below the title.
	Text string `json:"text,omitempty"`
	// Fields are short name/value facts (image, commit, approvers), shown as a grid.
	Fields []Field `json:"fields,omitempty"`
	// Link points somewhere useful, e.g. the CI run that started the release.
	Link *Link `json:"link,omitempty"`
	// LinkToRun asks the Notify activity to link to the workflow run in the Temporal Web UI (the workflow
	// cannot know the UI's address; the worker does). It fills RunURL; backends render RunURL, not this.
	LinkToRun bool `json:"linkToRun,omitempty"`
	// RunURL is the run's page in the Temporal Web UI; the Notify activity sets it from LinkToRun.
	RunURL string `json:"runURL,omitempty"`
	// Color is ColorGood, ColorWarning, ColorDanger or "" (neutral).
	Color string `json:"color,omitempty"`
	// Mentions notify people, as Slack writes them: "<@U0123ABCD>", "<!subteam^S0123ABCD>", "<!here>",
	// "<!channel>". Anything else (e.g. "@oncall", which the API does not resolve) is shown as plain text.
	Mentions []string `json:"mentions,omitempty"`
	// Actions are buttons (Slack needs a bot token and an app with interactivity to deliver clicks).
	Actions []Action `json:"actions,omitempty"`
}

// Field is one fact of a message.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Link is a labelled http(s) URL.
type Link struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// Action is a button. ID is the action ID the app's interactivity handler receives (e.g. "slipway_approve");
// Value is opaque here and delivered back verbatim (at most 2000 bytes); Style is "", StylePrimary or
// StyleDanger.
type Action struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Value string `json:"value,omitempty"`
	Style string `json:"style,omitempty"`
}

// PostResult says where a message went. TS identifies it in Channel (Slack's message timestamp); it is what
// later messages pass as their thread and what Update edits. A webhook post has Sent but no TS (webhooks cannot
// thread or edit); a Disabled post has neither.
type PostResult struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	Sent    bool   `json:"sent"`
}

// Notifier is the one interface to the outside world.
type Notifier interface {
	// Post sends msg. thread "" starts a new thread (the first message of a release); a non-empty thread (the
	// TS of that first message) posts a reply in it, so every message of one release is threaded under its
	// first. Backends that cannot thread ignore thread.
	Post(ctx context.Context, msg Message, thread string) (PostResult, error)
	// Update replaces the message ts in channel (the channel of its PostResult) with msg, e.g. to remove
	// approval buttons once someone decided.
	Update(ctx context.Context, channel, ts string, msg Message) error
}

// New builds the Notifier cfg asks for, posting to channel (or, if channel is "", to cfg.Channel): the Slack
// Web API when cfg has a token (it wins over a webhook), an incoming webhook when it has a webhook URL, and
// Disabled when it has neither. Errors wrap ErrInvalidConfig and never contain the secrets.
func New(cfg Config, channel string) (Notifier, error) {
	channel = cmp.Or(channel, cfg.Channel)
	switch {
	case cfg.Token != "":
		opts := []SlackOption{WithHTTPClient(cfg.HTTPClient)}
		if cfg.APIURL != "" {
			opts = append(opts, WithAPIURL(cfg.APIURL))
		}
		return NewSlack(cfg.Token, channel, opts...)
	case cfg.WebhookURL != "":
		return NewWebhook(cfg.WebhookURL, channel, cfg.HTTPClient)
	default:
		return Disabled{}, nil
	}
}

// Disabled is the Notifier of a worker without Slack credentials: it sends nothing, and says so.
type Disabled struct{}

// Post sends nothing and reports that (Sent false); it never fails.
func (Disabled) Post(context.Context, Message, string) (PostResult, error) { return PostResult{}, nil }

// Update does nothing.
func (Disabled) Update(context.Context, string, string, Message) error { return nil }

// String names the backend, for logs.
func (Disabled) String() string { return "notifications disabled" }

var _ fmt.Stringer = Disabled{}
