// Package slackapprove is the HTTP endpoint of Slack's interactivity: it receives the clicks on a release's
// Approve and Reject buttons, checks that Slack sent them, maps the Slack user to a Slipway identity and
// hands the decision to a Decider (the release workflow's approve/reject update), then edits the message
// through the payload's response_url.
//
// Requests, in the order they are checked:
//
//   - not POST: 405. A body over MaxBodyBytes: 413.
//   - X-Slack-Request-Timestamp missing, not decimal, or more than MaxSkew from the handler's clock;
//     X-Slack-Signature missing or not HMAC-SHA256 of "v0:<timestamp>:<body>" under the signing secret;
//     or the same (timestamp, signature) accepted before: 401, and nothing else happens.
//   - not application/x-www-form-urlencoded: 415. No payload, payload not JSON: 400.
//   - an interaction that is not block_actions, or block_actions without one of the two buttons (another
//     button of the same Slack app): 200 with an empty body, nothing done (Slack wants every interaction
//     acknowledged, or it shows the user an error).
//   - both buttons in one payload, a button value that is not "<workflowID>|<runID>", a response_url that
//     is not https on one of ResponseHosts: 400, nothing decided.
//   - otherwise 200 with an empty body, and the user learns the result through response_url: the message
//     replaced (buttons removed, "Approved by alice@example.com") when the decision was taken, an ephemeral
//     reply when the user is not in the user map, when the release refused the decision (the reason), when
//     the decision failed, or when it took longer than DecideTimeout.
//
// Timing: Slack wants the HTTP answer within 3 seconds. Decide runs synchronously, bounded by DecideTimeout
// (2.5 s by default) and detached from the request's cancellation; the response_url posts run after the
// HTTP answer, in goroutines that Wait waits for. A decision that times out may still be applied by the
// release afterwards (the update was sent): the user is told so, and a second click is refused by the
// workflow if the first one went through.
package slackapprove

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/vektagraf/slipway/internal/releaseapi"
)

// Defaults and limits.
const (
	DefaultMaxSkew       = 5 * time.Minute
	DefaultDecideTimeout = 2500 * time.Millisecond
	// MaxBodyBytes bounds a request body; Slack's block_actions payloads are a few KiB.
	MaxBodyBytes = 64 << 10
	// maxCommentRunes bounds Decision.Comment.
	maxCommentRunes = 1000
	// maxTextRunes keeps texts under Slack's 3000-character limit of a section.
	maxTextRunes = 2900
	// postTimeout bounds one response_url post.
	postTimeout = 10 * time.Second
)

// DefaultResponseHosts are the hosts Slack's response_urls point to.
var DefaultResponseHosts = []string{"hooks.slack.com", "hooks.slack-gov.com"}

// Handler is the interactivity endpoint. Set the fields, then use it through a pointer and do not copy it.
// Only SigningSecret, Users and Decider have no default.
type Handler struct {
	// SigningSecret is the Slack app's signing secret. Never logged.
	SigningSecret string
	// Users maps Slack user IDs to Slipway identities; a user not in it cannot decide.
	Users UserMap
	// Decider applies the decisions.
	Decider Decider
	// Now is the clock of the timestamp check and of the replay cache (default time.Now).
	Now func() time.Time
	// MaxSkew is how far X-Slack-Request-Timestamp may be from Now, either way (default 5 minutes).
	// slack.NewSecretsVerifier also refuses timestamps more than 5 minutes from the wall clock, so a larger
	// MaxSkew does not widen the window.
	MaxSkew time.Duration
	// HTTP posts to response_url (default: a client with a 10 s timeout that does not follow redirects).
	HTTP *http.Client
	// Replays remembers accepted requests for 2*MaxSkew (default: a MemoryReplayCache of
	// DefaultReplayEntries entries).
	Replays ReplayCache
	// DecideTimeout bounds Decide (default 2.5 s).
	DecideTimeout time.Duration
	// ResponseHosts are the hosts a response_url may point to, always over https (default
	// DefaultResponseHosts).
	ResponseHosts []string
	// Log receives one line per request that is refused or decided (default slog.Default()).
	Log *slog.Logger

	once  sync.Once
	posts sync.WaitGroup
}

func (h *Handler) init() {
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.MaxSkew <= 0 {
		h.MaxSkew = DefaultMaxSkew
	}
	if h.HTTP == nil {
		h.HTTP = &http.Client{
			Timeout:       postTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if h.Replays == nil {
		h.Replays = NewMemoryReplayCache(0)
	}
	if h.DecideTimeout <= 0 {
		h.DecideTimeout = DefaultDecideTimeout
	}
	if h.ResponseHosts == nil {
		h.ResponseHosts = DefaultResponseHosts
	}
	if h.Log == nil {
		h.Log = slog.Default()
	}
}

// Wait blocks until the response_url posts of the requests served so far are done. Call it after
// http.Server.Shutdown.
func (h *Handler) Wait() { h.posts.Wait() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	log := h.Log.With("remote", r.RemoteAddr)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxBodyBytes {
		httpError(w, http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			httpError(w, http.StatusRequestEntityTooLarge)
		} else {
			httpError(w, http.StatusBadRequest)
		}
		return
	}

	if status, err := h.authenticate(r.Context(), r.Header, body); err != nil {
		log.Warn("slack request refused", "status", status, "error", err)
		httpError(w, status)
		return
	}

	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		httpError(w, http.StatusUnsupportedMediaType)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		log.Warn("slack request refused: no payload", "error", err)
		httpError(w, http.StatusBadRequest)
		return
	}
	payload := []byte(form.Get("payload"))
	var ic slack.InteractionCallback
	if err := json.Unmarshal(payload, &ic); err != nil {
		log.Warn("slack request refused: payload is not an interaction", "error", err)
		httpError(w, http.StatusBadRequest)
		return
	}

	if ic.Type != slack.InteractionTypeBlockActions {
		log.Debug("slack interaction ignored", "type", ic.Type)
		w.WriteHeader(http.StatusOK)
		return
	}
	var act *slack.BlockAction
	for _, a := range ic.ActionCallback.BlockActions {
		if a.ActionID != releaseapi.ActionApprove && a.ActionID != releaseapi.ActionReject {
			continue
		}
		if act != nil {
			log.Warn("slack request refused: more than one approval action")
			httpError(w, http.StatusBadRequest)
			return
		}
		act = a
	}
	if act == nil {
		log.Debug("slack block action ignored: not an approval button")
		w.WriteHeader(http.StatusOK)
		return
	}
	workflowID, runID, err := releaseapi.ParseButtonValue(act.Value)
	if err != nil {
		log.Warn("slack request refused", "error", err)
		httpError(w, http.StatusBadRequest)
		return
	}
	responseURL, err := h.checkResponseURL(ic.ResponseURL)
	if err != nil {
		log.Warn("slack request refused", "error", err)
		httpError(w, http.StatusBadRequest)
		return
	}
	approve := act.ActionID == releaseapi.ActionApprove
	log = log.With("workflowID", workflowID, "runID", runID, "approve", approve, "slackUser", ic.User.ID)

	identity, ok := h.Users.Identity(ic.User.ID)
	if !ok {
		log.Warn("slack user not in the user map")
		h.respond(log, responseURL, ephemeral(fmt.Sprintf(
			"You are not mapped to a Slipway identity; ask an operator to add %s to the user map.", ic.User.ID)))
		w.WriteHeader(http.StatusOK)
		return
	}
	if h.Decider == nil {
		log.Error("slack approval handler has no Decider")
		httpError(w, http.StatusInternalServerError)
		return
	}
	d := Decision{
		WorkflowID: workflowID, RunID: runID, Approve: approve, Approver: identity,
		Comment: comment(&ic), Source: Source,
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.DecideTimeout)
	out, err := h.Decider.Decide(ctx, d)
	timedOut := ctx.Err() != nil
	cancel()
	log = log.With("by", identity)
	verb := verbOf(approve)
	switch rejected, isRejected := errors.AsType[*RejectedError](err); {
	case err == nil:
		log.Info("slack decision applied")
		h.respond(log, responseURL, replacement(payload, approve, identity, out))
	case isRejected:
		log.Info("slack decision refused by the release", "reason", rejected.Reason)
		h.respond(log, responseURL, ephemeral(fmt.Sprintf("Slipway did not %s the release: %s", verb, rejected.Reason)))
	case timedOut:
		log.Warn("slack decision timed out", "error", err)
		h.respond(log, responseURL, ephemeral(fmt.Sprintf(
			"Slipway is still working on your decision to %s %s; it may still be applied. Check the release before clicking again.",
			verb, workflowID)))
	default:
		log.Error("slack decision failed", "error", err)
		h.respond(log, responseURL, ephemeral(fmt.Sprintf(
			"Slipway could not %s the release (%s): an error occurred; the slack-approver log has the details.", verb, workflowID)))
	}
	w.WriteHeader(http.StatusOK)
}

// authenticate checks the timestamp against the handler's clock, the signature with slack-go's verifier,
// and records the request in the replay cache. It returns the HTTP status to answer on failure.
func (h *Handler) authenticate(ctx context.Context, header http.Header, body []byte) (int, error) {
	ts, sig := header.Get("X-Slack-Request-Timestamp"), header.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return http.StatusUnauthorized, errors.New("missing X-Slack-Request-Timestamp or X-Slack-Signature")
	}
	if len(ts) > 12 || strings.Trim(ts, "0123456789") != "" {
		return http.StatusUnauthorized, errors.New("X-Slack-Request-Timestamp is not a Unix time in seconds")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return http.StatusUnauthorized, errors.New("X-Slack-Request-Timestamp is not a Unix time in seconds")
	}
	now := h.Now()
	if skew := now.Sub(time.Unix(sec, 0)).Abs(); skew > h.MaxSkew {
		return http.StatusUnauthorized, fmt.Errorf("X-Slack-Request-Timestamp is %s away from now (at most %s)", skew.Round(time.Second), h.MaxSkew)
	}
	// NewSecretsVerifier checks the header's form and, against the wall clock, a 5-minute window; the HMAC
	// is compared in constant time by Ensure.
	sv, err := slack.NewSecretsVerifier(header, h.SigningSecret)
	if errors.Is(err, slack.ErrInvalidConfiguration) {
		return http.StatusInternalServerError, errors.New("no signing secret configured")
	}
	if err != nil {
		return http.StatusUnauthorized, fmt.Errorf("signature: %w", err)
	}
	if _, err := sv.Write(body); err != nil {
		return http.StatusInternalServerError, err
	}
	if err := sv.Ensure(); err != nil {
		return http.StatusUnauthorized, fmt.Errorf("signature: %w", err)
	}
	// The hex digits of a signature may come in either case; both verify, so the key is normalised.
	fresh, err := h.Replays.Add(ctx, "v0:"+ts+":"+strings.ToLower(sig), now, now.Add(2*h.MaxSkew))
	if err != nil {
		return http.StatusServiceUnavailable, fmt.Errorf("replay cache: %w", err)
	}
	if !fresh {
		return http.StatusUnauthorized, errors.New("replayed request (this timestamp and signature were accepted before)")
	}
	return 0, nil
}

func (h *Handler) checkResponseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return "", errors.New("response_url: missing or not a URL")
	}
	if u.Scheme != "https" || u.User != nil || !slices.ContainsFunc(h.ResponseHosts, func(host string) bool {
		return strings.EqualFold(host, u.Hostname())
	}) {
		return "", fmt.Errorf("response_url: not https on one of %s", strings.Join(h.ResponseHosts, ", "))
	}
	return u.String(), nil
}

// comment is the value of an optional plain_text_input with action_id releaseapi.CommentActionID.
func comment(ic *slack.InteractionCallback) string {
	if ic.BlockActionState == nil {
		return ""
	}
	for _, block := range ic.BlockActionState.Values {
		if a, ok := block[releaseapi.CommentActionID]; ok {
			return truncate(strings.TrimSpace(a.Value), maxCommentRunes)
		}
	}
	return ""
}

// message is the JSON posted to a response_url.
type message struct {
	ResponseType    string            `json:"response_type,omitempty"`
	ReplaceOriginal bool              `json:"replace_original"`
	Text            string            `json:"text"`
	Blocks          []json.RawMessage `json:"blocks,omitempty"`
	Attachments     []json.RawMessage `json:"attachments,omitempty"`
}

func ephemeral(text string) message {
	return message{ResponseType: "ephemeral", Text: escape(truncate(text, maxTextRunes))}
}

// replacement is the original message without the approval buttons (its blocks and its attachments' blocks
// kept as Slack sent them) and with the outcome as a last block.
func replacement(payload []byte, approve bool, identity string, out Outcome) message {
	headline := out.Message
	if headline == "" {
		headline = "Rejected by " + identity
		if approve {
			headline = "Approved by " + identity
		}
	}
	headline = truncate(headline, maxTextRunes)
	icon, color := "⛔ ", "danger"
	if approve {
		icon, color = "✅ ", "good"
	}
	var orig struct {
		Message struct {
			Blocks      []json.RawMessage `json:"blocks"`
			Attachments []json.RawMessage `json:"attachments"`
		} `json:"message"`
	}
	_ = json.Unmarshal(payload, &orig) // it decoded as an InteractionCallback already; at worst nothing is kept
	m := message{ReplaceOriginal: true, Text: escape(headline)}
	m.Blocks, _ = withoutButtons(orig.Message.Blocks)
	outcome, _ := json.Marshal(map[string]any{
		"type": "section",
		"text": map[string]any{"type": "plain_text", "text": icon + headline, "emoji": true},
	})
	m.Blocks = append(m.Blocks, outcome)
	for _, a := range orig.Message.Attachments {
		var att map[string]json.RawMessage
		if json.Unmarshal(a, &att) != nil {
			continue
		}
		if raw, ok := att["blocks"]; ok {
			var blocks []json.RawMessage
			if json.Unmarshal(raw, &blocks) == nil {
				kept, removed := withoutButtons(blocks)
				if removed {
					att["color"], _ = json.Marshal(color)
				}
				if len(kept) == 0 {
					delete(att, "blocks")
				} else {
					att["blocks"], _ = json.Marshal(kept)
				}
			}
		}
		if b, err := json.Marshal(att); err == nil {
			m.Attachments = append(m.Attachments, b)
		}
	}
	return m
}

// withoutButtons drops the approval buttons and the comment input from blocks, and an actions block left
// empty. It reports whether anything was dropped.
func withoutButtons(blocks []json.RawMessage) (kept []json.RawMessage, removed bool) {
	ours := func(raw json.RawMessage) bool {
		var e struct {
			ActionID string `json:"action_id"`
		}
		return json.Unmarshal(raw, &e) == nil &&
			(e.ActionID == releaseapi.ActionApprove || e.ActionID == releaseapi.ActionReject || e.ActionID == releaseapi.CommentActionID)
	}
	for _, b := range blocks {
		var blk map[string]json.RawMessage
		if json.Unmarshal(b, &blk) != nil {
			kept = append(kept, b)
			continue
		}
		if el, ok := blk["element"]; ok && ours(el) { // an input block
			removed = true
			continue
		}
		raw, ok := blk["elements"]
		var elements []json.RawMessage
		if !ok || json.Unmarshal(raw, &elements) != nil {
			kept = append(kept, b)
			continue
		}
		rest := slices.DeleteFunc(slices.Clone(elements), ours)
		switch {
		case len(rest) == len(elements):
			kept = append(kept, b)
		case len(rest) == 0:
			removed = true
		default:
			removed = true
			blk["elements"], _ = json.Marshal(rest)
			if nb, err := json.Marshal(blk); err == nil {
				kept = append(kept, nb)
			}
		}
	}
	return kept, removed
}

// respond posts msg to the response_url after the HTTP answer; Wait waits for it.
func (h *Handler) respond(log *slog.Logger, responseURL string, msg message) {
	body, err := json.Marshal(msg)
	if err != nil {
		log.Error("slack response", "error", err)
		return
	}
	h.posts.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), postTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, strings.NewReader(string(body)))
		if err != nil {
			log.Error("slack response_url post", "error", err)
			return
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := h.HTTP.Do(req)
		if err != nil {
			// The URL is a capability to post in the channel: the error is logged without it.
			if ue, ok := errors.AsType[*url.Error](err); ok {
				err = ue.Err
			}
			log.Error("slack response_url post", "error", err)
			return
		}
		defer resp.Body.Close()
		reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		if resp.StatusCode/100 != 2 {
			log.Error("slack response_url post refused", "status", resp.StatusCode, "reply", string(reply))
		}
	})
}

func verbOf(approve bool) string {
	if approve {
		return "approve"
	}
	return "reject"
}

func httpError(w http.ResponseWriter, status int) {
	http.Error(w, http.StatusText(status), status)
}

// escape makes text safe in a Slack mrkdwn/text field: &, < and > are its control characters.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
