package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/notify"
)

// hookSecret is the secret part of a webhook URL: whoever has it can post.
const hookSecret = "T000/B000/XXXXsecretXXXXXXXXXXXX"

// fakeHook is an incoming webhook: it records the bodies and answers with the scripted statuses, then 200 "ok".
type fakeHook struct {
	srv     *httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	answers []func(http.ResponseWriter)
}

func newHook(t *testing.T) *fakeHook {
	h := &fakeHook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/services/"+hookSecret || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "no_service", http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		var answer func(http.ResponseWriter)
		if len(h.answers) > 0 {
			answer, h.answers = h.answers[0], h.answers[1:]
		}
		h.mu.Unlock()
		if answer != nil {
			answer(w)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHook) url() string { return h.srv.URL + "/services/" + hookSecret }

func (h *fakeHook) answer(status int, header map[string]string, body string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answers = append(h.answers, func(w http.ResponseWriter) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

func TestWebhookPostsTextAndBlocks(t *testing.T) {
	h := newHook(t)
	n, err := notify.New(notify.Config{WebhookURL: h.url()}, "#releases")
	require.NoError(t, err)
	require.IsType(t, &notify.Webhook{}, n)

	res, err := n.Post(context.Background(), approval(), "1712345678.000100")
	require.NoError(t, err)
	require.Equal(t, notify.PostResult{Channel: "#releases", Sent: true}, res, "sent, but no TS: a webhook cannot thread")

	require.Len(t, h.bodies, 1)
	var body struct {
		Text     string          `json:"text"`
		ThreadTS string          `json:"thread_ts"`
		Blocks   json.RawMessage `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(h.bodies[0], &body))
	require.Contains(t, body.Text, "approval needed before production")
	require.Contains(t, body.Text, "&lt;!channel&gt;", "escaped")
	require.Empty(t, body.ThreadTS)
	var blocks slack.Blocks
	require.NoError(t, json.Unmarshal(body.Blocks, &blocks), "slack-go reads the blocks back")
	require.Len(t, blocks.BlockSet, 4)
	actions := blocks.BlockSet[3].(*slack.ActionBlock)
	require.Equal(t, "slipway_approve", actions.Elements.ElementSet[0].(*slack.ButtonBlockElement).ActionID)
	require.Equal(t, "release-shop-prod|run-1", actions.Elements.ElementSet[0].(*slack.ButtonBlockElement).Value)

	err = n.Update(context.Background(), "#releases", "1712345678.000100", approval())
	require.ErrorIs(t, err, notify.ErrInvalidConfig)
	require.Contains(t, err.Error(), "cannot edit")
}

func TestWebhookErrors(t *testing.T) {
	h := newHook(t)
	n, err := notify.New(notify.Config{WebhookURL: h.url()}, "")
	require.NoError(t, err)
	post := func() error {
		_, err := n.Post(context.Background(), notify.Message{Title: "hello"}, "")
		return err
	}

	h.answer(http.StatusTooManyRequests, map[string]string{"Retry-After": "2"}, "rate_limited")
	var rl *notify.RateLimitedError
	require.ErrorAs(t, post(), &rl)
	require.Equal(t, 2*time.Second, rl.RetryAfter)

	h.answer(http.StatusTooManyRequests, nil, "rate_limited")
	require.ErrorAs(t, post(), &rl)
	require.Zero(t, rl.RetryAfter)

	for status, want := range map[int]error{
		http.StatusNotFound:   notify.ErrInvalidConfig, // no_service: the webhook was removed
		http.StatusForbidden:  notify.ErrInvalidConfig, // action_prohibited
		http.StatusGone:       notify.ErrInvalidConfig, // channel_is_archived
		http.StatusBadRequest: notify.ErrRejected,      // invalid_payload
	} {
		h.answer(status, nil, "whatever")
		err := post()
		require.ErrorIs(t, err, want, "%d", status)
		var e *notify.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, status, e.Status)
		require.NotContains(t, err.Error(), "XXXXsecret")
	}

	h.answer(http.StatusInternalServerError, nil, "rollup_error")
	err = post()
	var e *notify.Error
	require.ErrorAs(t, err, &e)
	require.True(t, e.Retryable())

	require.NoError(t, post())
}

// slack-go quotes the URL in a network error (Post "https://hooks.slack.com/services/..."): the URL is the
// webhook's credential, so it must not reach an error, a log or the workflow history.
func TestWebhookErrorsNeverShowTheURL(t *testing.T) {
	h := newHook(t)
	gone := h.url()
	h.srv.Close()
	n, err := notify.New(notify.Config{WebhookURL: gone}, "")
	require.NoError(t, err)
	_, err = n.Post(context.Background(), notify.Message{Title: "hello"}, "")
	require.Error(t, err)
	var e *notify.Error
	require.ErrorAs(t, err, &e)
	require.True(t, e.Retryable(), "connection refused is retried")
	require.NotContains(t, err.Error(), "XXXXsecret")
	require.NotContains(t, err.Error(), "T000/B000")
	require.Contains(t, err.Error(), "[redacted]", "the message says what it hid: %v", err)

	// Nothing in the chain holds the URL either (slack-go's *url.Error is not wrapped).
	for u := err; u != nil; u = unwrap(u) {
		require.NotContains(t, strings.ToLower(u.Error()), "xxxxsecret")
	}

	_, err = notify.New(notify.Config{WebhookURL: "hooks.slack.com/services/" + hookSecret}, "")
	require.ErrorIs(t, err, notify.ErrInvalidConfig)
	require.NotContains(t, err.Error(), "XXXXsecret")
}

func unwrap(err error) error {
	u, ok := err.(interface{ Unwrap() error })
	if !ok {
		return nil
	}
	return u.Unwrap()
}
