package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Errors whose answer will not change on a retry. Backend errors wrap one of them (test with errors.Is), or
// are a *RateLimitedError, or are retryable (5xx, network, timeouts, unknown Slack errors).
var (
	// ErrInvalidConfig: the credentials, channel or backend cannot do this: invalid_auth, not_authed,
	// token_revoked, account_inactive, missing_scope, channel_not_found, not_in_channel, is_archived, a webhook
	// that no longer exists, a webhook asked to edit. An operator must fix the worker's configuration.
	ErrInvalidConfig = errors.New("invalid notification configuration")
	// ErrRejected: Slack refused this message: invalid_blocks, msg_too_long, no_text, message_not_found,
	// cant_update_message, a button too big. Sending it again gets the same answer.
	ErrRejected = errors.New("notification rejected")
)

// RateLimitedError says Slack throttled the call: try again after RetryAfter (its Retry-After header; zero when
// Slack gave none).
type RateLimitedError struct {
	// Op is what was throttled: "chat.postMessage", "chat.update" or "webhook".
	Op         string
	RetryAfter time.Duration
	cause      error
}

func (e *RateLimitedError) Error() string {
	if e.RetryAfter <= 0 {
		return fmt.Sprintf("slack %s: rate limited", e.Op)
	}
	return fmt.Sprintf("slack %s: rate limited, retry after %s", e.Op, e.RetryAfter)
}

// Unwrap returns slack-go's *slack.RateLimitedError when there was one.
func (e *RateLimitedError) Unwrap() error { return e.cause }

// Error is a failed backend call. Its text has the secrets removed; it wraps ErrInvalidConfig or ErrRejected
// when retrying cannot help, and a context error when the call was cancelled or timed out, never slack-go's
// error (whose URL may hold a webhook's secret).
type Error struct {
	// Op is what failed: "chat.postMessage", "chat.update" or "webhook".
	Op string
	// Code is Slack's error code ("channel_not_found"), "" if there was none.
	Code string
	// Status is the HTTP status, 0 if there was none (a network error, or a Web API error, which comes with
	// 200).
	Status int
	msg    string
	kind   error
}

func (e *Error) Error() string { return "slack " + e.Op + ": " + e.msg }

// Unwrap returns ErrInvalidConfig, ErrRejected, a context error, or nil.
func (e *Error) Unwrap() error { return e.kind }

// Retryable says whether the same call may succeed later.
func (e *Error) Retryable() bool {
	return !errors.Is(e.kind, ErrInvalidConfig) && !errors.Is(e.kind, ErrRejected)
}

// Slack Web API error codes that no retry changes. Everything else (internal_error, fatal_error,
// service_unavailable, request_timeout, codes Slack adds later) is retried.
var (
	configCodes = []string{
		"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "no_permission",
		"missing_scope", "not_allowed_token_type", "org_login_required", "ekm_access_denied",
		"team_access_not_granted", "access_denied", "enterprise_is_restricted", "invalid_token",
		"channel_not_found", "not_in_channel", "is_archived", "restricted_action",
		"restricted_action_read_only_channel", "restricted_action_thread_only_channel",
		"restricted_action_non_threadable_channel", "team_not_found", "user_not_found",
		"no_service", "no_service_id", "no_team", "team_disabled", "channel_is_archived", "action_prohibited",
	}
	rejectedCodes = []string{
		"invalid_blocks", "invalid_blocks_format", "invalid_attachments", "msg_too_long", "msg_blocks_too_long",
		"no_text", "too_many_attachments", "too_many_blocks", "invalid_arguments", "invalid_arg_name",
		"invalid_array_arg", "invalid_charset", "invalid_form_data", "invalid_post_type", "missing_post_type",
		"invalid_payload", "message_not_found", "cant_update_message", "edit_window_closed",
		"cannot_reply_to_message", "invalid_thread_ts", "invalid_ts", "duplicate_channel_not_found",
		"metadata_too_large", "invalid_metadata_format", "invalid_metadata_schema",
	}
	rateLimitedCodes = []string{"ratelimited", "rate_limited", "message_limit_exceeded"}
)

// classify turns a slack-go error into one of this package's: a *RateLimitedError, or an *Error that wraps
// ErrInvalidConfig, ErrRejected, a context error, or nothing (retryable). secrets are removed from its text.
func classify(op string, err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &RateLimitedError{Op: op, RetryAfter: rl.RetryAfter, cause: rl}
	}
	e := &Error{Op: op, msg: redact(err.Error(), secrets...)}
	var resp slack.SlackErrorResponse
	var status slack.StatusCodeError
	switch {
	case errors.As(err, &resp):
		e.Code = resp.Err
		switch {
		case slices.Contains(rateLimitedCodes, resp.Err):
			return &RateLimitedError{Op: op}
		case slices.Contains(configCodes, resp.Err):
			e.kind = ErrInvalidConfig
		case slices.Contains(rejectedCodes, resp.Err):
			e.kind = ErrRejected
		}
	case errors.As(err, &status):
		e.Status = status.Code
		switch c := status.Code; {
		case c == http.StatusTooManyRequests: // without a (numeric) Retry-After
			return &RateLimitedError{Op: op}
		case c == http.StatusUnauthorized || c == http.StatusForbidden || c == http.StatusNotFound || c == http.StatusGone:
			e.kind = ErrInvalidConfig // a webhook answers 403/404/410 when it was revoked or its channel is gone
		case c >= 400 && c < 500 && c != http.StatusRequestTimeout:
			e.kind = ErrRejected // 400 invalid_payload, 413
		}
	case errors.Is(err, context.Canceled):
		e.kind = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		e.kind = context.DeadlineExceeded
	}
	return e
}

// redact removes every secret from s. A URL secret (a webhook's) is also removed in the forms an error may quote
// it in: its path (which holds the secret part), escaped or not, and its query.
func redact(s string, secrets ...string) string {
	var all []string
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		all = append(all, sec)
		if u, err := url.Parse(sec); err == nil && u.Host != "" {
			all = append(all, u.String(), u.Redacted())
			if p := u.EscapedPath(); len(p) > 1 {
				all = append(all, p, strings.TrimPrefix(p, "/"))
			}
			if len(u.Path) > 1 {
				all = append(all, u.Path, strings.TrimPrefix(u.Path, "/"))
			}
			if u.RawQuery != "" {
				all = append(all, u.RawQuery)
			}
		}
	}
	// Longest first, so a secret's part never leaves the rest of it behind.
	slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range all {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}
