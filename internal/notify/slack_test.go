package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/notify"
	"github.com/vektagraf/slipway/internal/notify/notifytest"
)

const testToken = "xoxb-1234-5678-s3cr3tT0k3nValue"

func newSlack(t *testing.T, srv *notifytest.Slack, channel string) notify.Notifier {
	t.Helper()
	n, err := notify.New(notify.Config{Token: testToken, APIURL: srv.APIURL(), Channel: "C0DEFAULT"}, channel)
	require.NoError(t, err)
	require.IsType(t, &notify.Slack{}, n)
	return n
}

// approval is a message with everything: the kind the approval gate posts.
func approval() notify.Message {
	return notify.Message{
		Title: "shop v1.2.3: approval needed before production",
		Text:  "Staging is green. <!channel> & <https://evil.example|click>",
		Fields: []notify.Field{
			{Name: "Image", Value: "registry.example/shop@sha256:abc"},
			{Name: "Approvers", Value: "alice, bob"},
		},
		Link:     &notify.Link{Text: "CI run", URL: "https://ci.example/runs/7?a=1&b=2"},
		Color:    notify.ColorWarning,
		Mentions: []string{"<!subteam^S0123ABCD>", "@oncall"},
		Actions: []notify.Action{
			{ID: "slipway_approve", Text: "Approve", Value: "release-shop-prod|run-1", Style: notify.StylePrimary},
			{ID: "slipway_reject", Text: "Reject", Value: "release-shop-prod|run-1", Style: notify.StyleDanger},
		},
	}
}

// The first message of a release starts a thread; every later one is a reply in it. Asserted on what slacktest
// parsed from the calls (its websocket feed of posted messages) and on the calls themselves.
func TestSlackThreadsEveryMessageUnderTheFirst(t *testing.T) {
	srv := notifytest.NewSlack(t)
	n := newSlack(t, srv, "C0RELEASES")
	ctx := context.Background()

	first, err := n.Post(ctx, notify.Message{Title: "shop v1.2.3: release started"}, "")
	require.NoError(t, err)
	require.True(t, first.Sent)
	require.Equal(t, "C0RELEASES", first.Channel)
	require.NotEmpty(t, first.TS)
	for _, title := range []string{"shop v1.2.3: staging deploy succeeded", "shop v1.2.3: released"} {
		res, err := n.Post(ctx, notify.Message{Title: title, Color: notify.ColorGood}, first.TS)
		require.NoError(t, err)
		require.True(t, res.Sent)
		require.NotEmpty(t, res.TS)
	}

	byText := map[string]slack.Message{}
	for _, m := range srv.Messages(t, 3) {
		byText[m.Text] = m
	}
	require.Len(t, byText, 3)
	start := byText["shop v1.2.3: release started"]
	require.Equal(t, "C0RELEASES", start.Channel)
	require.Empty(t, start.ThreadTimestamp, "the first message starts the thread")
	for _, text := range []string{"shop v1.2.3: staging deploy succeeded", "shop v1.2.3: released"} {
		require.Equal(t, first.TS, byText[text].ThreadTimestamp, "%q is a reply under the first message", text)
		require.Equal(t, "C0RELEASES", byText[text].Channel)
	}

	// The same on the wire: thread_ts is absent from the first call and the first TS in the others, and every
	// call carries the bot token.
	calls := srv.Requests("chat.postMessage")
	require.Len(t, calls, 3)
	require.NotContains(t, calls[0].Form, "thread_ts")
	require.Equal(t, first.TS, calls[1].Form.Get("thread_ts"))
	require.Equal(t, first.TS, calls[2].Form.Get("thread_ts"))
	for _, c := range calls {
		require.Equal(t, testToken, c.Form.Get("token"))
	}
}

func TestSlackRendersBlocksAndButtons(t *testing.T) {
	srv := notifytest.NewSlack(t)
	n := newSlack(t, srv, "")
	res, err := n.Post(context.Background(), approval(), "")
	require.NoError(t, err)
	require.Equal(t, "C0DEFAULT", res.Channel, "no channel given: the configured one")

	m := srv.Messages(t, 1)[0]
	// The fallback text: escaped, with the valid mention kept so it notifies.
	require.Equal(t, "shop v1.2.3: approval needed before production: <!subteam^S0123ABCD> @oncall Staging is green. "+
		"&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;", m.Text)

	blocks := m.Blocks.BlockSet
	require.Len(t, blocks, 4, "headline, fields, links, buttons")
	head, ok := blocks[0].(*slack.SectionBlock)
	require.True(t, ok, "%T", blocks[0])
	require.Equal(t, slack.MarkdownType, head.Text.Type)
	require.Equal(t, ":large_yellow_circle: *shop v1.2.3: approval needed before production*\n"+
		"<!subteam^S0123ABCD> @oncall Staging is green. &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;", head.Text.Text)

	fields, ok := blocks[1].(*slack.SectionBlock)
	require.True(t, ok, "%T", blocks[1])
	require.Len(t, fields.Fields, 2)
	require.Equal(t, "*Image*\nregistry.example/shop@sha256:abc", fields.Fields[0].Text)
	require.Equal(t, "*Approvers*\nalice, bob", fields.Fields[1].Text)

	links, ok := blocks[2].(*slack.ContextBlock)
	require.True(t, ok, "%T", blocks[2])
	require.Len(t, links.ContextElements.Elements, 1)
	link, ok := links.ContextElements.Elements[0].(*slack.TextBlockObject)
	require.True(t, ok)
	require.Equal(t, ":link: <https://ci.example/runs/7?a=1&amp;b=2|CI run>", link.Text)

	actions, ok := blocks[3].(*slack.ActionBlock)
	require.True(t, ok, "%T", blocks[3])
	require.Equal(t, notify.ActionsBlockID, actions.BlockID)
	require.Len(t, actions.Elements.ElementSet, 2)
	for i, want := range approval().Actions {
		b, ok := actions.Elements.ElementSet[i].(*slack.ButtonBlockElement)
		require.True(t, ok, "%T", actions.Elements.ElementSet[i])
		require.Equal(t, want.ID, b.ActionID)
		require.Equal(t, want.Value, b.Value, "the value comes back verbatim")
		require.Equal(t, want.Text, b.Text.Text)
		require.Equal(t, slack.PlainTextType, b.Text.Type)
		require.Equal(t, slack.Style(want.Style), b.Style)
	}

	// Links are not unfurled: a CI page's preview would bury the thread.
	call := srv.Requests("chat.postMessage")[0]
	require.Equal(t, "false", call.Form.Get("unfurl_links"))
	var raw []map[string]any
	require.NoError(t, json.Unmarshal([]byte(call.Form.Get("blocks")), &raw))
	require.Equal(t, "actions", raw[3]["type"])
}

func TestSlackUpdateCallsChatUpdate(t *testing.T) {
	srv := notifytest.NewSlack(t)
	n := newSlack(t, srv, "C0RELEASES")
	ctx := context.Background()
	res, err := n.Post(ctx, approval(), "")
	require.NoError(t, err)

	decided := notify.Message{Title: "shop v1.2.3: approved by alice", Color: notify.ColorGood}
	require.NoError(t, n.Update(ctx, res.Channel, res.TS, decided))

	calls := srv.Requests("chat.update")
	require.Len(t, calls, 1)
	f := calls[0].Form
	require.Equal(t, res.Channel, f.Get("channel"))
	require.Equal(t, res.TS, f.Get("ts"))
	require.Equal(t, "shop v1.2.3: approved by alice", f.Get("text"))
	require.Contains(t, f.Get("blocks"), "approved by alice")
	require.NotContains(t, f.Get("blocks"), "slipway_approve", "the buttons are gone")
	require.Equal(t, testToken, f.Get("token"))

	srv.Script("chat.update", notifytest.Fail("message_not_found"))
	err = n.Update(ctx, res.Channel, "1.000", decided)
	require.ErrorIs(t, err, notify.ErrRejected)
}

func TestSlackRateLimitCarriesRetryAfter(t *testing.T) {
	srv := notifytest.NewSlack(t)
	n := newSlack(t, srv, "C0RELEASES")
	srv.Script("chat.postMessage", notifytest.RateLimited("2"), notifytest.RateLimited(""))

	_, err := n.Post(context.Background(), notify.Message{Title: "hello"}, "")
	var rl *notify.RateLimitedError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, 2*time.Second, rl.RetryAfter)
	var inner *slack.RateLimitedError
	require.ErrorAs(t, err, &inner, "slack-go's error is wrapped")

	_, err = n.Post(context.Background(), notify.Message{Title: "hello"}, "")
	require.ErrorAs(t, err, &rl, "a 429 without Retry-After is a rate limit too")
	require.Zero(t, rl.RetryAfter)

	_, err = n.Post(context.Background(), notify.Message{Title: "hello"}, "")
	require.NoError(t, err, "the next call goes through")
}

func TestSlackErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		answer notifytest.Response
		want   error // nil: retryable
	}{
		{notifytest.Fail("invalid_auth"), notify.ErrInvalidConfig},
		{notifytest.Fail("not_authed"), notify.ErrInvalidConfig},
		{notifytest.Fail("channel_not_found"), notify.ErrInvalidConfig},
		{notifytest.Fail("not_in_channel"), notify.ErrInvalidConfig},
		{notifytest.Fail("account_inactive"), notify.ErrInvalidConfig},
		{notifytest.Fail("token_revoked"), notify.ErrInvalidConfig},
		{notifytest.Fail("invalid_blocks"), notify.ErrRejected},
		{notifytest.Fail("msg_too_long"), notify.ErrRejected},
		{notifytest.Fail("internal_error"), nil},
		{notifytest.Fail("some_code_slack_adds_next_year"), nil},
		{notifytest.Response{Status: 503, Body: "<html>down</html>"}, nil},
		{notifytest.Response{Status: 500}, nil},
	} {
		srv := notifytest.NewSlack(t)
		n := newSlack(t, srv, "C0RELEASES")
		srv.Script("chat.postMessage", tc.answer)
		_, err := n.Post(context.Background(), notify.Message{Title: "hello"}, "")
		require.Error(t, err, "%+v", tc.answer)
		require.NotContains(t, err.Error(), testToken)
		require.NotContains(t, err.Error(), "s3cr3t")
		var e *notify.Error
		require.ErrorAs(t, err, &e)
		if tc.want != nil {
			require.ErrorIs(t, err, tc.want, "%+v", tc.answer)
			require.False(t, e.Retryable())
		} else {
			require.True(t, e.Retryable(), "%+v: %v", tc.answer, err)
			require.False(t, errors.Is(err, notify.ErrInvalidConfig) || errors.Is(err, notify.ErrRejected))
		}
	}
}

func TestSlackNetworkErrorIsRetryableAndHasNoToken(t *testing.T) {
	srv := notifytest.NewSlack(t)
	api := srv.APIURL()
	n, err := notify.New(notify.Config{Token: testToken, APIURL: api, HTTPClient: nil}, "C0RELEASES")
	require.NoError(t, err)
	// A server that is gone: connection refused.
	n2, err := notify.New(notify.Config{Token: testToken, APIURL: "http://127.0.0.1:1/api/"}, "C0RELEASES")
	require.NoError(t, err)
	_, err = n2.Post(context.Background(), notify.Message{Title: "hello"}, "")
	var e *notify.Error
	require.ErrorAs(t, err, &e)
	require.True(t, e.Retryable())
	require.NotContains(t, err.Error(), testToken)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = n.Post(ctx, notify.Message{Title: "hello"}, "")
	require.ErrorIs(t, err, context.Canceled)
}

func TestSlackRefusesMessagesSlackWould(t *testing.T) {
	srv := notifytest.NewSlack(t)
	n := newSlack(t, srv, "C0RELEASES")
	for _, m := range []notify.Message{
		{},
		{Title: "x", Actions: []notify.Action{{Text: "no ID"}}},
		{Title: "x", Actions: []notify.Action{{ID: "a", Value: strings.Repeat("v", 2001)}}},
		{Title: "x", Actions: []notify.Action{{ID: "a", Style: "blue"}}},
	} {
		_, err := n.Post(context.Background(), m, "")
		require.ErrorIs(t, err, notify.ErrRejected, "%+v", m)
	}
	require.Empty(t, srv.Requests(""), "nothing was sent")
}
