package slackapprove

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// sign computes X-Slack-Signature the way Slack documents it: v0= hex(HMAC-SHA256(secret, "v0:<ts>:<body>")).
// It does not use slack-go, so the test checks the handler against the protocol, not against itself.
func sign(secret, ts, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":" + body))
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

type fakeDecider struct {
	mu    sync.Mutex
	calls []Decision
	out   Outcome
	err   error
	block bool // wait for the context to end
}

func (f *fakeDecider) Decide(ctx context.Context, d Decision) (Outcome, error) {
	f.mu.Lock()
	f.calls = append(f.calls, d)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return Outcome{}, ctx.Err()
	}
	return f.out, f.err
}

func (f *fakeDecider) Calls() []Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Decision(nil), f.calls...)
}

// posted is one request the fake response_url received.
type posted struct {
	ContentType     string
	ResponseType    string            `json:"response_type"`
	ReplaceOriginal *bool             `json:"replace_original"`
	Text            string            `json:"text"`
	Blocks          []json.RawMessage `json:"blocks"`
	Attachments     []json.RawMessage `json:"attachments"`
}

type responseServer struct {
	*httptest.Server
	mu    sync.Mutex
	posts []posted
}

func (s *responseServer) Posts() []posted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]posted(nil), s.posts...)
}

type fixture struct {
	h       *Handler
	decider *fakeDecider
	resp    *responseServer
	now     time.Time // the handler's clock: near the wall clock, which slack-go's verifier also reads
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rs := &responseServer{}
	rs.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p posted
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("response_url got %q: %v", body, err)
		}
		p.ContentType = r.Header.Get("Content-Type")
		rs.mu.Lock()
		rs.posts = append(rs.posts, p)
		rs.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(rs.Close)
	f := &fixture{decider: &fakeDecider{}, resp: rs, now: time.Unix(time.Now().Unix(), 0)}
	f.h = &Handler{
		SigningSecret: testSecret,
		Users:         UserMap{"U123": "alice@example.com"},
		Decider:       f.decider,
		Now:           func() time.Time { return f.now },
		HTTP:          rs.Client(),
		ResponseHosts: []string{"127.0.0.1"},
		Log:           slog.New(slog.DiscardHandler),
	}
	return f
}

type interaction struct {
	Type, User, ActionID, Value, ResponseURL string
	Message                                  map[string]any
	State                                    map[string]any
}

func (f *fixture) payload(in interaction) string {
	if in.Type == "" {
		in.Type = "block_actions"
	}
	if in.User == "" {
		in.User = "U123"
	}
	if in.ResponseURL == "" {
		in.ResponseURL = f.resp.URL + "/actions/T1/123/abc"
	}
	if in.Message == nil {
		in.Message = map[string]any{
			"type": "message", "text": "approval needed",
			"blocks": []any{
				map[string]any{"type": "section", "block_id": "head", "text": map[string]any{"type": "mrkdwn", "text": "*shop 1.4.2* needs approval"}},
				map[string]any{"type": "actions", "block_id": "act", "elements": []any{
					map[string]any{"type": "button", "action_id": releaseapi.ActionApprove, "value": "release-shop|run-1", "text": map[string]any{"type": "plain_text", "text": "Approve"}},
					map[string]any{"type": "button", "action_id": releaseapi.ActionReject, "value": "release-shop|run-1", "text": map[string]any{"type": "plain_text", "text": "Reject"}},
					map[string]any{"type": "button", "action_id": "open_run", "url": "https://temporal.example/run"},
				}},
			},
		}
	}
	p := map[string]any{
		"type":         in.Type,
		"user":         map[string]any{"id": in.User, "username": "alice", "team_id": "T1"},
		"team":         map[string]any{"id": "T1", "domain": "example"},
		"api_app_id":   "A1",
		"token":        "legacy-verification-token",
		"trigger_id":   "1.2.3",
		"response_url": in.ResponseURL,
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C1"},
		"channel":      map[string]any{"id": "C1", "name": "releases"},
		"message":      in.Message,
	}
	if in.ActionID != "" {
		p["actions"] = []any{map[string]any{
			"type": "button", "action_id": in.ActionID, "block_id": "act", "value": in.Value,
			"action_ts": "1700000001.000200", "text": map[string]any{"type": "plain_text", "text": "Approve"},
		}}
	}
	if in.State != nil {
		p["state"] = in.State
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return "payload=" + url.QueryEscape(string(b))
}

// request is a POST signed with secret at ts.
func request(secret string, ts time.Time, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s := strconv.FormatInt(ts.Unix(), 10)
	r.Header.Set("X-Slack-Request-Timestamp", s)
	r.Header.Set("X-Slack-Signature", sign(secret, s, body))
	return r
}

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	f.h.Wait()
	return w
}

func hasButtons(t *testing.T, raw []json.RawMessage) bool {
	t.Helper()
	for _, b := range raw {
		if strings.Contains(string(b), releaseapi.ActionApprove) || strings.Contains(string(b), releaseapi.ActionReject) {
			return true
		}
	}
	return false
}

func TestApproveReplacesTheMessage(t *testing.T) {
	f := newFixture(t)
	body := f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "release-shop|run-1"})
	w := f.serve(request(testSecret, f.now, body))
	require.Equal(t, http.StatusOK, w.Code)
	require.Empty(t, w.Body.String())

	require.Equal(t, []Decision{{WorkflowID: "release-shop", RunID: "run-1", Approve: true,
		Approver: "alice@example.com", Source: "slack"}}, f.decider.Calls())

	posts := f.resp.Posts()
	require.Len(t, posts, 1)
	p := posts[0]
	require.Equal(t, "application/json; charset=utf-8", p.ContentType)
	require.NotNil(t, p.ReplaceOriginal)
	require.True(t, *p.ReplaceOriginal)
	require.NotEqual(t, "ephemeral", p.ResponseType)
	require.Contains(t, p.Text, "Approved by alice@example.com")
	require.False(t, hasButtons(t, p.Blocks), "the approval buttons are removed")
	all := string(jsonOf(t, p.Blocks))
	require.Contains(t, all, "*shop 1.4.2* needs approval", "the original content stays")
	require.Contains(t, all, "open_run", "other buttons stay")
	require.Contains(t, string(p.Blocks[len(p.Blocks)-1]), "Approved by alice@example.com")
}

func TestRejectButton(t *testing.T) {
	f := newFixture(t)
	w := f.serve(request(testSecret, f.now, f.payload(interaction{ActionID: releaseapi.ActionReject, Value: "release-shop|run-1"})))
	require.Equal(t, http.StatusOK, w.Code)
	calls := f.decider.Calls()
	require.Len(t, calls, 1)
	require.False(t, calls[0].Approve)
	require.Equal(t, "alice@example.com", calls[0].Approver)
	posts := f.resp.Posts()
	require.Len(t, posts, 1)
	require.True(t, *posts[0].ReplaceOriginal)
	require.Contains(t, posts[0].Text, "Rejected by alice@example.com")
}

func TestOutcomeMessageAndComment(t *testing.T) {
	f := newFixture(t)
	f.decider.out = Outcome{Message: "Approved by alice@example.com at 2026-01-02T03:04:05Z: <looks good>"}
	body := f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "release-shop|run-1", State: map[string]any{
		"values": map[string]any{"comment": map[string]any{releaseapi.CommentActionID: map[string]any{"type": "plain_text_input", "value": "  looks good  "}}},
	}})
	f.serve(request(testSecret, f.now, body))
	require.Equal(t, "looks good", f.decider.Calls()[0].Comment)
	p := f.resp.Posts()[0]
	require.Equal(t, "Approved by alice@example.com at 2026-01-02T03:04:05Z: &lt;looks good&gt;", p.Text, "text is escaped")
}

func TestButtonsInAttachments(t *testing.T) {
	f := newFixture(t)
	msg := map[string]any{"type": "message", "text": "", "attachments": []any{map[string]any{
		"id": 1, "color": "daa038", "fallback": "approval needed",
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "details"}},
			map[string]any{"type": "actions", "elements": []any{
				map[string]any{"type": "button", "action_id": releaseapi.ActionApprove, "value": "w|r"},
				map[string]any{"type": "button", "action_id": releaseapi.ActionReject, "value": "w|r"},
			}},
		},
	}}}
	f.serve(request(testSecret, f.now, f.payload(interaction{ActionID: releaseapi.ActionReject, Value: "w|r", Message: msg})))
	p := f.resp.Posts()[0]
	require.Len(t, p.Attachments, 1)
	var att map[string]any
	require.NoError(t, json.Unmarshal(p.Attachments[0], &att))
	require.Equal(t, "danger", att["color"])
	require.Equal(t, "approval needed", att["fallback"])
	require.NotContains(t, string(p.Attachments[0]), "slipway_")
	require.Contains(t, string(p.Attachments[0]), "details")
	require.Len(t, p.Blocks, 1, "only the outcome at the top level")
}

func TestBadSignature(t *testing.T) {
	for name, mutate := range map[string]func(f *fixture, r *http.Request){
		"wrong secret": func(f *fixture, r *http.Request) {
			ts := r.Header.Get("X-Slack-Request-Timestamp")
			body := f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"})
			r.Header.Set("X-Slack-Signature", sign("another-secret", ts, body))
		},
		"body changed after signing": func(f *fixture, r *http.Request) {
			body := f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r2"})
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
		},
		"timestamp changed after signing": func(f *fixture, r *http.Request) {
			r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(f.now.Unix()-1, 10))
		},
		"no signature":      func(_ *fixture, r *http.Request) { r.Header.Del("X-Slack-Signature") },
		"no timestamp":      func(_ *fixture, r *http.Request) { r.Header.Del("X-Slack-Request-Timestamp") },
		"signature not hex": func(_ *fixture, r *http.Request) { r.Header.Set("X-Slack-Signature", "v0=zz") },
		"v1 signature": func(_ *fixture, r *http.Request) {
			r.Header.Set("X-Slack-Signature", "v1="+strings.TrimPrefix(r.Header.Get("X-Slack-Signature"), "v0="))
		},
		"signed timestamp with a sign": func(f *fixture, r *http.Request) {
			ts := "+" + strconv.FormatInt(f.now.Unix(), 10)
			body := f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"})
			r.Header.Set("X-Slack-Request-Timestamp", ts)
			r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			r := request(testSecret, f.now, f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"}))
			mutate(f, r)
			w := f.serve(r)
			require.Equal(t, http.StatusUnauthorized, w.Code)
			require.Empty(t, f.decider.Calls())
			require.Empty(t, f.resp.Posts())
		})
	}
}

func TestTimestampWindow(t *testing.T) {
	for name, c := range map[string]struct {
		ts      func(now time.Time) time.Time
		maxSkew time.Duration
		want    int
	}{
		"6 minutes old":           {ts: func(n time.Time) time.Time { return n.Add(-6 * time.Minute) }, want: 401},
		"6 minutes ahead":         {ts: func(n time.Time) time.Time { return n.Add(6 * time.Minute) }, want: 401},
		"4 minutes old":           {ts: func(n time.Time) time.Time { return n.Add(-4 * time.Minute) }, want: 200},
		"2 minutes old, max 1":    {ts: func(n time.Time) time.Time { return n.Add(-2 * time.Minute) }, maxSkew: time.Minute, want: 401},
		"30 seconds old, max 1":   {ts: func(n time.Time) time.Time { return n.Add(-30 * time.Second) }, maxSkew: time.Minute, want: 200},
		"2 minutes ahead, max 1m": {ts: func(n time.Time) time.Time { return n.Add(2 * time.Minute) }, maxSkew: time.Minute, want: 401},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.h.MaxSkew = c.maxSkew
			w := f.serve(request(testSecret, c.ts(f.now), f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"})))
			require.Equal(t, c.want, w.Code)
			if c.want == 401 {
				require.Empty(t, f.decider.Calls())
			} else {
				require.Len(t, f.decider.Calls(), 1)
			}
		})
	}
}

// The handler's own clock decides, not only the wall clock slack-go's verifier reads: a request signed
// "now" by the wall clock is refused by a handler whose clock is 2 minutes ahead, with MaxSkew 1 minute.
func TestTimestampUsesTheInjectedClock(t *testing.T) {
	f := newFixture(t)
	f.h.MaxSkew = time.Minute
	signedAt := f.now
	f.now = f.now.Add(2 * time.Minute)
	w := f.serve(request(testSecret, signedAt, f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"})))
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Empty(t, f.decider.Calls())
}

func TestReplayIsRefused(t *testing.T) {
	f := newFixture(t)
	body := f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "release-shop|run-1"})
	first := request(testSecret, f.now, body)
	second := request(testSecret, f.now, body)
	upper := request(testSecret, f.now, body)
	upper.Header.Set("X-Slack-Signature", "v0="+strings.ToUpper(strings.TrimPrefix(upper.Header.Get("X-Slack-Signature"), "v0=")))

	require.Equal(t, http.StatusOK, f.serve(first).Code)
	require.Equal(t, http.StatusUnauthorized, f.serve(second).Code)
	require.Equal(t, http.StatusUnauthorized, f.serve(upper).Code, "the same signature in upper-case hex is the same request")
	require.Len(t, f.decider.Calls(), 1)
	require.Len(t, f.resp.Posts(), 1)

	// A new click (new timestamp, new signature) goes through.
	f.now = f.now.Add(time.Second)
	require.Equal(t, http.StatusOK, f.serve(request(testSecret, f.now, body)).Code)
	require.Len(t, f.decider.Calls(), 2)
}

func TestUnmappedUser(t *testing.T) {
	f := newFixture(t)
	w := f.serve(request(testSecret, f.now, f.payload(interaction{User: "U999", ActionID: releaseapi.ActionApprove, Value: "w|r"})))
	require.Equal(t, http.StatusOK, w.Code)
	require.Empty(t, f.decider.Calls())
	posts := f.resp.Posts()
	require.Len(t, posts, 1)
	require.Equal(t, "ephemeral", posts[0].ResponseType)
	require.NotNil(t, posts[0].ReplaceOriginal)
	require.False(t, *posts[0].ReplaceOriginal)
	require.Contains(t, posts[0].Text, "not mapped to a Slipway identity")
	require.Contains(t, posts[0].Text, "add U999 to the user map")
}

func TestRejectedByTheRelease(t *testing.T) {
	f := newFixture(t)
	f.decider.err = &RejectedError{Reason: "alice@example.com started this release and may not approve it"}
	w := f.serve(request(testSecret, f.now, f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"})))
	require.Equal(t, http.StatusOK, w.Code)
	require.Len(t, f.decider.Calls(), 1)
	posts := f.resp.Posts()
	require.Len(t, posts, 1)
	require.Equal(t, "ephemeral", posts[0].ResponseType)
	require.False(t, *posts[0].ReplaceOriginal)
	require.Contains(t, posts[0].Text, "started this release and may not approve it")
	require.Empty(t, posts[0].Blocks)
}

func TestDecideFails(t *testing.T) {
	f := newFixture(t)
	f.decider.err = errors.New("rpc error: connection refused to temporal.internal:7233")
	f.serve(request(testSecret, f.now, f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"})))
	p := f.resp.Posts()[0]
	require.Equal(t, "ephemeral", p.ResponseType)
	require.False(t, *p.ReplaceOriginal)
	require.Contains(t, p.Text, "could not approve")
	require.NotContains(t, p.Text, "temporal.internal", "internal errors stay in the log")
}

func TestDecideTimesOut(t *testing.T) {
	f := newFixture(t)
	f.decider.block = true
	f.h.DecideTimeout = 50 * time.Millisecond
	start := time.Now()
	w := f.serve(request(testSecret, f.now, f.payload(interaction{ActionID: releaseapi.ActionReject, Value: "w|r"})))
	require.Equal(t, http.StatusOK, w.Code)
	require.Less(t, time.Since(start), 2*time.Second)
	p := f.resp.Posts()[0]
	require.Equal(t, "ephemeral", p.ResponseType)
	require.Contains(t, p.Text, "still working")
}

func TestWrongMethod(t *testing.T) {
	f := newFixture(t)
	w := f.serve(httptest.NewRequest(http.MethodGet, "/slack/interactions", nil))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Equal(t, "POST", w.Header().Get("Allow"))
	require.Empty(t, f.decider.Calls())
}

func TestOversizedBody(t *testing.T) {
	big := "payload=" + strings.Repeat("a", MaxBodyBytes)
	t.Run("content length", func(t *testing.T) {
		f := newFixture(t)
		w := f.serve(request(testSecret, f.now, big))
		require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		require.Empty(t, f.decider.Calls())
	})
	t.Run("unknown length", func(t *testing.T) {
		f := newFixture(t)
		r := request(testSecret, f.now, big)
		r.Body = io.NopCloser(io.MultiReader(strings.NewReader(big)))
		r.ContentLength = -1
		w := f.serve(r)
		require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		require.Empty(t, f.decider.Calls())
	})
}

func TestBadValue(t *testing.T) {
	for _, v := range []string{
		"", "|", "w|", "|r", "w", "w|r|x", "w r|run", "w|r\n", "w\x00|r", "w|\u00a0",
		strings.Repeat("w", releaseapi.MaxWorkflowIDLen+1) + "|r", "w|" + strings.Repeat("r", releaseapi.MaxRunIDLen+1),
	} {
		t.Run(strconv.Quote(v), func(t *testing.T) {
			f := newFixture(t)
			w := f.serve(request(testSecret, f.now, f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: v})))
			require.Equal(t, http.StatusBadRequest, w.Code)
			require.Empty(t, f.decider.Calls())
			require.Empty(t, f.resp.Posts())
		})
	}
}

func TestParseButtonValue(t *testing.T) {
	w, r, err := releaseapi.ParseButtonValue(releaseapi.ButtonValue("release-shop-1.4.2", "0195b0a4-6a3e-7c54-9b1e-2f3a4b5c6d7e"))
	require.NoError(t, err)
	require.Equal(t, "release-shop-1.4.2", w)
	require.Equal(t, "0195b0a4-6a3e-7c54-9b1e-2f3a4b5c6d7e", r)
	_, _, err = releaseapi.ParseButtonValue("wörkflow/é|r")
	require.NoError(t, err, "IDs may be any printable Unicode")
	_, _, err = releaseapi.ParseButtonValue("w\xff|r")
	require.Error(t, err, "not UTF-8 (JSON would have turned it into U+FFFD before the handler sees it)")
}

func TestIgnoredInteractions(t *testing.T) {
	for name, in := range map[string]interaction{
		"view submission":   {Type: "view_submission"},
		"another button":    {ActionID: "open_run", Value: "x"},
		"no actions at all": {},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			w := f.serve(request(testSecret, f.now, f.payload(in)))
			require.Equal(t, http.StatusOK, w.Code)
			require.Empty(t, w.Body.String())
			require.Empty(t, f.decider.Calls())
			require.Empty(t, f.resp.Posts())
		})
	}
}

func TestBadRequests(t *testing.T) {
	t.Run("not a form", func(t *testing.T) {
		f := newFixture(t)
		r := request(testSecret, f.now, `{"type":"block_actions"}`)
		r.Header.Set("Content-Type", "application/json")
		require.Equal(t, http.StatusUnsupportedMediaType, f.serve(r).Code)
	})
	t.Run("no payload", func(t *testing.T) {
		f := newFixture(t)
		require.Equal(t, http.StatusBadRequest, f.serve(request(testSecret, f.now, "token=x")).Code)
	})
	t.Run("payload not JSON", func(t *testing.T) {
		f := newFixture(t)
		require.Equal(t, http.StatusBadRequest, f.serve(request(testSecret, f.now, "payload=%7Bnope")).Code)
	})
	t.Run("response_url elsewhere", func(t *testing.T) {
		f := newFixture(t)
		for _, u := range []string{"https://evil.example/actions/1", "http://127.0.0.1/actions/1", "https://u:p@127.0.0.1/x", "not a url"} {
			body := f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r", ResponseURL: u})
			require.Equal(t, http.StatusBadRequest, f.serve(request(testSecret, f.now, body)).Code, u)
			f.now = f.now.Add(time.Second)
		}
		require.Empty(t, f.decider.Calls())
		require.Empty(t, f.resp.Posts())
	})
	t.Run("both buttons", func(t *testing.T) {
		f := newFixture(t)
		var p map[string]any
		form, _ := url.ParseQuery(f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"}))
		require.NoError(t, json.Unmarshal([]byte(form.Get("payload")), &p))
		acts := p["actions"].([]any)
		other := map[string]any{"type": "button", "action_id": releaseapi.ActionReject, "block_id": "act", "value": "w|r"}
		p["actions"] = append(acts, other)
		b, _ := json.Marshal(p)
		w := f.serve(request(testSecret, f.now, "payload="+url.QueryEscape(string(b))))
		require.Equal(t, http.StatusBadRequest, w.Code)
		require.Empty(t, f.decider.Calls())
	})
	t.Run("no signing secret", func(t *testing.T) {
		f := newFixture(t)
		f.h.SigningSecret = ""
		w := f.serve(request("", f.now, f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"})))
		require.Equal(t, http.StatusInternalServerError, w.Code)
		require.Empty(t, f.decider.Calls())
	})
}

type failingCache struct{}

func (failingCache) Add(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errors.New("redis down")
}

func TestReplayCacheErrorRefuses(t *testing.T) {
	f := newFixture(t)
	f.h.Replays = failingCache{}
	w := f.serve(request(testSecret, f.now, f.payload(interaction{ActionID: releaseapi.ActionApprove, Value: "w|r"})))
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Empty(t, f.decider.Calls())
}

func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	c := NewMemoryReplayCache(2)
	t0 := time.Unix(1_700_000_000, 0)
	ttl := 10 * time.Minute
	add := func(key string, now time.Time) (bool, error) { return c.Add(ctx, key, now, now.Add(ttl)) }

	ok, err := add("a", t0)
	require.NoError(t, err)
	require.True(t, ok)
	ok, _ = add("a", t0.Add(ttl-time.Second))
	require.False(t, ok, "still remembered")
	ok, _ = add("b", t0)
	require.True(t, ok)
	_, err = add("c", t0.Add(time.Second))
	require.ErrorIs(t, err, ErrReplayCacheFull, "full of live entries: refuse, do not forget one")

	ok, err = add("c", t0.Add(ttl))
	require.NoError(t, err)
	require.True(t, ok, "a and b expired and were swept")
	require.Equal(t, 1, c.Len())
	ok, _ = add("a", t0.Add(ttl))
	require.True(t, ok, "an expired key is new again")
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
