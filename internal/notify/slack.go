package notify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// defaultTimeout bounds one call when the caller's context has no deadline.
const defaultTimeout = 30 * time.Second

// Slack posts with a bot token through the Web API (chat.postMessage, chat.update): messages thread under the
// release's first message, can be edited, and can carry buttons.
type Slack struct {
	client  *slack.Client
	channel string
	token   string // only to keep it out of error texts
}

// SlackOption configures a Slack backend.
type SlackOption func(*slackSettings)

type slackSettings struct {
	apiURL string
	client *http.Client
}

// WithAPIURL sends the Web API calls to u (a test server such as slacktest's) instead of Slack's
// (slack.OptionAPIURL; a missing trailing slash is added).
func WithAPIURL(u string) SlackOption {
	return func(s *slackSettings) { s.apiURL = u }
}

// WithHTTPClient makes the calls with c; nil means a client with a 30s timeout.
func WithHTTPClient(c *http.Client) SlackOption {
	return func(s *slackSettings) { s.client = c }
}

// NewSlack builds the Web API backend posting to channel (an ID or a name; replies and edits should use the
// channel ID a Post returns). Errors wrap ErrInvalidConfig.
func NewSlack(token, channel string, opts ...SlackOption) (*Slack, error) {
	var set slackSettings
	for _, o := range opts {
		o(&set)
	}
	if strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("%w: slack: no bot token", ErrInvalidConfig)
	}
	if strings.TrimSpace(channel) == "" {
		return nil, fmt.Errorf("%w: slack: no channel", ErrInvalidConfig)
	}
	sopts := []slack.Option{slack.OptionHTTPClient(orDefaultClient(set.client))}
	if set.apiURL != "" {
		u, err := url.Parse(set.apiURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: slack: API URL %q: want http(s)://host/path/", ErrInvalidConfig, redact(set.apiURL, token))
		}
		sopts = append(sopts, slack.OptionAPIURL(strings.TrimRight(set.apiURL, "/")+"/"))
	}
	return &Slack{client: slack.New(token, sopts...), channel: channel, token: token}, nil
}

func orDefaultClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: defaultTimeout}
}

// Post sends msg with chat.postMessage, as a reply in thread when thread is not "". The result's Channel is the
// channel's ID, which Update needs.
func (s *Slack) Post(ctx context.Context, msg Message, thread string) (PostResult, error) {
	opts, err := msgOptions(msg)
	if err != nil {
		return PostResult{}, fmt.Errorf("slack chat.postMessage: %w", err)
	}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	ch, ts, err := s.client.PostMessageContext(ctx, s.channel, opts...)
	if err != nil {
		return PostResult{}, classify("chat.postMessage", err, s.token)
	}
	return PostResult{Channel: ch, TS: ts, Sent: true}, nil
}

// Update replaces message ts in channel (an ID) with msg, with chat.update. A message without Actions loses its
// buttons.
func (s *Slack) Update(ctx context.Context, channel, ts string, msg Message) error {
	if channel == "" {
		channel = s.channel
	}
	if ts == "" {
		return fmt.Errorf("slack chat.update: %w: no message timestamp", ErrRejected)
	}
	opts, err := msgOptions(msg)
	if err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
	if _, _, _, err := s.client.UpdateMessageContext(ctx, channel, ts, opts...); err != nil {
		return classify("chat.update", err, s.token)
	}
	return nil
}

// String names the backend, for logs (without the token).
func (s *Slack) String() string { return "slack web API, channel " + s.channel }

func msgOptions(msg Message) ([]slack.MsgOption, error) {
	blocks, err := Blocks(msg)
	if err != nil {
		return nil, err
	}
	return []slack.MsgOption{
		// The text is the notification's and screen readers' fallback; it is escaped already.
		slack.MsgOptionText(FallbackText(msg), false),
		slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}, nil
}

// Slack's limits (https://docs.slack.dev/reference/block-kit/blocks): a section's text 3000 characters, a field
// 2000, 10 fields per section, 10 context elements, a button's text 75, its value 2000, its action ID 255,
// 25 elements per actions block, 50 blocks per message.
const (
	maxSectionText = 3000
	maxFieldText   = 2000
	maxFields      = 10
	maxButtonText  = 75
	maxButtonValue = 2000
	maxActionID    = 255
	maxActions     = 25
	maxFieldBlocks = 4 // at most 40 fields; the rest are dropped
	maxFallback    = 3000
)

// ActionsBlockID is the block ID of a message's buttons.
const ActionsBlockID = "slipway_actions"

var colorEmoji = map[string]string{
	ColorGood:    ":large_green_circle:",
	ColorWarning: ":large_yellow_circle:",
	ColorDanger:  ":red_circle:",
}

// Blocks renders msg as Block Kit blocks: a section with the title (bold, after an emoji for its color), the
// mentions and the text; sections of fields; a context block with the links; an actions block with the buttons.
// Text is escaped for mrkdwn and truncated to Slack's limits; an action Slack would refuse is an error wrapping
// ErrRejected.
func Blocks(msg Message) ([]slack.Block, error) {
	var blocks []slack.Block
	if head := headline(msg); head != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(head, maxSectionText)), nil, nil))
	}
	fields := msg.Fields
	if len(fields) > maxFields*maxFieldBlocks {
		fields = fields[:maxFields*maxFieldBlocks]
	}
	for len(fields) > 0 {
		n := min(len(fields), maxFields)
		objs := make([]*slack.TextBlockObject, 0, n)
		for _, f := range fields[:n] {
			objs = append(objs, mrkdwn(truncate("*"+Escape(f.Name)+"*\n"+Escape(f.Value), maxFieldText)))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, objs, nil))
		fields = fields[n:]
	}
	var links []slack.MixedElement
	if msg.Link != nil && (msg.Link.URL != "" || msg.Link.Text != "") {
		links = append(links, mrkdwn(truncate(":link: "+linkText(*msg.Link), maxFieldText)))
	}
	if msg.RunURL != "" {
		links = append(links, mrkdwn(truncate(":clipboard: "+linkText(Link{Text: "Temporal run", URL: msg.RunURL}), maxFieldText)))
	}
	if len(links) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", links...))
	}
	if len(msg.Actions) > 0 {
		if len(msg.Actions) > maxActions {
			return nil, fmt.Errorf("%w: %d actions, at most %d", ErrRejected, len(msg.Actions), maxActions)
		}
		buttons := make([]slack.BlockElement, 0, len(msg.Actions))
		for _, a := range msg.Actions {
			b, err := button(a)
			if err != nil {
				return nil, err
			}
			buttons = append(buttons, b)
		}
		blocks = append(blocks, slack.NewActionBlock(ActionsBlockID, buttons...))
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrRejected)
	}
	return blocks, nil
}

func button(a Action) (*slack.ButtonBlockElement, error) {
	switch {
	case a.ID == "" || len(a.ID) > maxActionID:
		return nil, fmt.Errorf("%w: action ID %q: want 1 to %d bytes", ErrRejected, a.ID, maxActionID)
	case len(a.Value) > maxButtonValue:
		return nil, fmt.Errorf("%w: action %s: value of %d bytes, at most %d", ErrRejected, a.ID, len(a.Value), maxButtonValue)
	case a.Style != "" && a.Style != StylePrimary && a.Style != StyleDanger:
		return nil, fmt.Errorf("%w: action %s: style %q: want %q, %q or none", ErrRejected, a.ID, a.Style, StylePrimary, StyleDanger)
	}
	text := a.Text
	if strings.TrimSpace(text) == "" {
		text = a.ID
	}
	// plain_text is not mrkdwn: Slack shows it as is, so it is not escaped.
	b := slack.NewButtonBlockElement(a.ID, a.Value, slack.NewTextBlockObject(slack.PlainTextType, truncate(text, maxButtonText), true, false))
	return b.WithStyle(slack.Style(a.Style)), nil
}

// headline is the first section's mrkdwn: "<emoji> *Title*", the mentions, the text.
func headline(msg Message) string {
	var lines []string
	if msg.Title != "" {
		t := "*" + Escape(msg.Title) + "*"
		if e := colorEmoji[msg.Color]; e != "" {
			t = e + " " + t
		}
		lines = append(lines, t)
	}
	body := mentions(msg.Mentions)
	if msg.Text != "" {
		body = strings.TrimSpace(body + " " + Escape(msg.Text))
	}
	if body != "" {
		lines = append(lines, body)
	}
	return strings.Join(lines, "\n")
}

// FallbackText is the message's plain text (Slack's "text" argument): what notifications, screen readers and
// clients without blocks show. It is escaped, and carries the mentions so they notify.
func FallbackText(msg Message) string {
	parts := []string{}
	if msg.Title != "" {
		parts = append(parts, Escape(msg.Title))
	}
	body := mentions(msg.Mentions)
	if msg.Text != "" {
		body = strings.TrimSpace(body + " " + Escape(msg.Text))
	}
	if body != "" {
		parts = append(parts, body)
	}
	return truncate(strings.Join(parts, ": "), maxFallback)
}

// mentionRE is what Slack writes for a mention of a user, a user group, a channel, or everyone.
var mentionRE = regexp.MustCompile(`^<(?:@[UW][A-Z0-9]{2,}|#C[A-Z0-9]{2,}|!subteam\^[A-Z0-9]{2,}|!here|!channel|!everyone)(?:\|[^<>|]*)?>$`)

// mentions renders the mentions: valid ones as they are (so they notify), anything else escaped.
func mentions(ms []string) string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		m = strings.TrimSpace(m)
		switch {
		case m == "":
		case mentionRE.MatchString(m):
			out = append(out, m)
		default:
			out = append(out, Escape(m))
		}
	}
	return strings.Join(out, " ")
}

// linkText renders a link as Slack's <url|text>, or, when the URL is not http(s), as plain escaped text.
func linkText(l Link) string {
	text := l.Text
	if text == "" {
		text = l.URL
	}
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Escape(text)
	}
	// "|" ends the URL in Slack's syntax; Escape handles the other reserved characters.
	href := strings.ReplaceAll(u.String(), "|", "%7C")
	return "<" + Escape(href) + "|" + Escape(text) + ">"
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes s safe in mrkdwn: &, < and > become entities, so s cannot mention anyone or make a link (Slack's
// formatting rules; the rest of mrkdwn, *bold* and `code`, stays).
func Escape(s string) string { return escaper.Replace(s) }

// truncate cuts s to at most n characters, ending in "…", without splitting a rune or an entity Escape made.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	cut := string(r)
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	if i := strings.LastIndexByte(cut, '<'); i >= 0 && !strings.Contains(cut[i:], ">") {
		cut = cut[:i] // a link or mention cut in half would show its syntax
	}
	return cut + "…"
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
