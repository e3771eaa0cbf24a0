package notify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/notify"
	"github.com/vektagraf/slipway/internal/notify/notifytest"
)

func clearEnv(t *testing.T) {
	for _, k := range []string{notify.EnvToken, notify.EnvTokenFile, notify.EnvWebhookURL, notify.EnvWebhookURLFile,
		notify.EnvAPIURL, notify.EnvChannel} {
		t.Setenv(k, "")
	}
}

func TestConfigFromEnv(t *testing.T) {
	clearEnv(t)
	cfg, err := notify.ConfigFromEnv()
	require.NoError(t, err)
	require.Equal(t, "disabled", cfg.Backend())

	t.Setenv(notify.EnvToken, " "+testToken+"\n")
	t.Setenv(notify.EnvChannel, "C0RELEASES")
	t.Setenv(notify.EnvAPIURL, "http://127.0.0.1:9/api/")
	cfg, err = notify.ConfigFromEnv()
	require.NoError(t, err)
	require.Equal(t, notify.Config{Token: testToken, Channel: "C0RELEASES", APIURL: "http://127.0.0.1:9/api/"}, cfg)
	require.Equal(t, "slack", cfg.Backend())
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		require.NotContains(t, s, "s3cr3t", "printing a Config hides the token")
	}

	// From files (a mounted secret), trimmed.
	clearEnv(t)
	dir := t.TempDir()
	tokenFile, hookFile := filepath.Join(dir, "token"), filepath.Join(dir, "hook")
	require.NoError(t, os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600))
	require.NoError(t, os.WriteFile(hookFile, []byte("https://hooks.slack.com/services/"+hookSecret+"\n"), 0o600))
	t.Setenv(notify.EnvTokenFile, tokenFile)
	t.Setenv(notify.EnvWebhookURLFile, hookFile)
	cfg, err = notify.ConfigFromEnv()
	require.NoError(t, err)
	require.Equal(t, testToken, cfg.Token)
	require.Equal(t, "https://hooks.slack.com/services/"+hookSecret, cfg.WebhookURL)
	require.Equal(t, "slack", cfg.Backend(), "the token wins")
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), "secret")

	// Both ways at once is ambiguous; a missing or empty file is an error naming the file, not a value.
	t.Setenv(notify.EnvToken, testToken)
	_, err = notify.ConfigFromEnv()
	require.ErrorIs(t, err, notify.ErrInvalidConfig)
	require.NotContains(t, err.Error(), "s3cr3t")
	t.Setenv(notify.EnvToken, "")
	t.Setenv(notify.EnvTokenFile, filepath.Join(dir, "missing"))
	_, err = notify.ConfigFromEnv()
	require.ErrorIs(t, err, notify.ErrInvalidConfig)
	require.Contains(t, err.Error(), notify.EnvTokenFile)
	require.NoError(t, os.WriteFile(tokenFile, []byte(" \n"), 0o600))
	t.Setenv(notify.EnvTokenFile, tokenFile)
	_, err = notify.ConfigFromEnv()
	require.ErrorIs(t, err, notify.ErrInvalidConfig)
}

func TestNewChoosesTheBackend(t *testing.T) {
	n, err := notify.New(notify.Config{Token: testToken, WebhookURL: "https://hooks.slack.com/services/" + hookSecret}, "C0RELEASES")
	require.NoError(t, err)
	require.IsType(t, &notify.Slack{}, n, "the token wins")

	n, err = notify.New(notify.Config{WebhookURL: "https://hooks.slack.com/services/" + hookSecret}, "")
	require.NoError(t, err)
	require.IsType(t, &notify.Webhook{}, n)

	_, err = notify.New(notify.Config{Token: testToken}, "")
	require.ErrorIs(t, err, notify.ErrInvalidConfig, "the Web API needs a channel")
	_, err = notify.New(notify.Config{Token: testToken, APIURL: "ftp://x"}, "C0")
	require.ErrorIs(t, err, notify.ErrInvalidConfig)
	require.NotContains(t, err.Error(), "s3cr3t")
}

func TestDisabledSendsNothing(t *testing.T) {
	srv := notifytest.NewSlack(t)
	n, err := notify.New(notify.Config{APIURL: srv.APIURL(), Channel: "C0RELEASES"}, "C0RELEASES")
	require.NoError(t, err)
	require.Equal(t, notify.Disabled{}, n)
	res, err := n.Post(context.Background(), approval(), "")
	require.NoError(t, err)
	require.Equal(t, notify.PostResult{}, res, "Sent false: nothing was sent")
	require.NoError(t, n.Update(context.Background(), "C0RELEASES", "1.2", approval()))
	require.Empty(t, srv.Requests(""))
}

func TestEscapeAndMentions(t *testing.T) {
	require.Equal(t, "a &amp;lt; &lt;b&gt; *c*", notify.Escape("a &lt; <b> *c*"))

	blocks, err := notify.Blocks(notify.Message{
		Text:     "see <@U999> & <!here>",
		Mentions: []string{"<@U0123ABCD>", "<!here>", "<!subteam^S01|oncall>", "<https://evil|x>", "<@U0123ABCD> <!channel>", "@oncall"},
	})
	require.NoError(t, err)
	require.Equal(t, "<@U0123ABCD> <!here> <!subteam^S01|oncall> &lt;https://evil|x&gt; &lt;@U0123ABCD&gt; &lt;!channel&gt; @oncall "+
		"see &lt;@U999&gt; &amp; &lt;!here&gt;", blocks[0].(*slack.SectionBlock).Text.Text)
}

func TestLinksAndRunURL(t *testing.T) {
	blocks, err := notify.Blocks(notify.Message{
		Title:  "t",
		Link:   &notify.Link{Text: "a|b <c>", URL: "https://ci.example/x|y"},
		RunURL: "http://127.0.0.1:8233/namespaces/default/workflows/release-shop/run-1/history",
	})
	require.NoError(t, err)
	ctx := blocks[1].(*slack.ContextBlock).ContextElements.Elements
	require.Len(t, ctx, 2)
	require.Equal(t, ":link: <https://ci.example/x%7Cy|a|b &lt;c&gt;>", ctx[0].(*slack.TextBlockObject).Text)
	require.Equal(t, ":clipboard: <http://127.0.0.1:8233/namespaces/default/workflows/release-shop/run-1/history|Temporal run>",
		ctx[1].(*slack.TextBlockObject).Text)

	blocks, err = notify.Blocks(notify.Message{Title: "t", Link: &notify.Link{Text: "local", URL: "javascript:alert(1)"}})
	require.NoError(t, err)
	require.Equal(t, ":link: local", blocks[1].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text,
		"only http(s) URLs become links")
}

func TestLongTextIsTruncatedToSlacksLimits(t *testing.T) {
	long := strings.Repeat("é<", 5000)
	var fields []notify.Field
	for i := range 45 {
		fields = append(fields, notify.Field{Name: fmt.Sprint("f", i), Value: long})
	}
	msg := notify.Message{Title: "t", Text: long, Fields: fields,
		Actions: []notify.Action{{ID: "a", Text: strings.Repeat("x", 100)}}}
	blocks, err := notify.Blocks(msg)
	require.NoError(t, err)
	require.Len(t, blocks, 1+4+1, "headline, 40 fields in 4 sections, buttons")
	head := blocks[0].(*slack.SectionBlock).Text.Text
	require.LessOrEqual(t, utf8.RuneCountInString(head), 3000)
	require.Regexp(t, `(é|&lt;)…$`, head, "no entity cut in half")
	for _, b := range blocks[1:5] {
		s := b.(*slack.SectionBlock)
		require.LessOrEqual(t, len(s.Fields), 10)
		for _, f := range s.Fields {
			require.LessOrEqual(t, utf8.RuneCountInString(f.Text), 2000)
		}
	}
	btn := blocks[5].(*slack.ActionBlock).Elements.ElementSet[0].(*slack.ButtonBlockElement)
	require.Equal(t, 75, utf8.RuneCountInString(btn.Text.Text))
	require.LessOrEqual(t, utf8.RuneCountInString(notify.FallbackText(msg)), 3000)
}
