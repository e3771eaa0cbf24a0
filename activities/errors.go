package activities

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Error types carried by non-retryable ApplicationErrors, so workflows, the starter and operators can tell a
// bad spec from a broken cluster without parsing messages.
const (
	// ErrInvalidInput: the activity input itself is wrong (a bug or a hand-written release.json).
	ErrInvalidInput = "InvalidInput"
	// ErrInvalidObject: the API server refused the rendered object (HTTP 400/422).
	ErrInvalidObject = "InvalidObject"
	// ErrForbidden: the worker's credentials may not do this (HTTP 403). A 401 is not here: client-go refreshes
	// exec-plugin and rotated credentials after a 401, so the next attempt usually succeeds.
	ErrForbidden = "Forbidden"
	// ErrNotFound: an object the step needs does not exist (HTTP 404), e.g. a namespace.
	ErrNotFound = "NotFound"
	// ErrProgressDeadlineExceeded: the Deployment controller gave up on the rollout.
	ErrProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ErrSmokeCheckFailed: the app answered, but not as the checks require, on every attempt.
	ErrSmokeCheckFailed = "SmokeCheckFailed"
	// ErrNoPreviousColor: a rollback has nothing to go back to.
	ErrNoPreviousColor = "NoPreviousColor"
	// ErrNotOwned: the Service the spec names belongs to another app (its LabelApp says so), or was not created
	// by Slipway; taking it over would move another app's traffic, and no retry changes who owns it.
	ErrNotOwned = "NotOwned"
)

// NonRetryableErrorTypes lists the types above; workflows put them in their retry policies so a retry is never
// wasted on an answer that cannot change.
var NonRetryableErrorTypes = []string{
	ErrInvalidInput, ErrInvalidObject, ErrForbidden, ErrNotFound, ErrScannerDatabase, ErrVulnerable, ErrImageNotFound, ErrRegistryUnauthorized,
	ErrProgressDeadlineExceeded, ErrSmokeCheckFailed, ErrNoPreviousColor, ErrNotOwned, ErrSigningKey, ErrUnsigned, ErrBadSignature, ErrNotificationConfig, ErrNotificationRejected, ErrNonCompliant,
}

// classify turns a client-go error into a Temporal error: answers that cannot change (invalid, forbidden, not
// found) become non-retryable ApplicationErrors with a type; everything else (5xx, timeouts, conflicts,
// throttling, connection errors, and 401 Unauthorized, which refreshed credentials cure) is returned as is, and
// Temporal retries it.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("%s: %v", what, err)
	switch {
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return temporal.NewNonRetryableApplicationError(msg, ErrInvalidObject, err)
	case apierrors.IsForbidden(err):
		return temporal.NewNonRetryableApplicationError(msg, ErrForbidden, err)
	case apierrors.IsNotFound(err):
		return temporal.NewNonRetryableApplicationError(msg, ErrNotFound, err)
	case apierrors.IsMethodNotSupported(err), apierrors.IsNotAcceptable(err), apierrors.IsUnsupportedMediaType(err):
		return temporal.NewNonRetryableApplicationError(msg, ErrInvalidObject, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// invalidInput reports a malformed activity input as non-retryable.
func invalidInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrInvalidInput, nil)
}

// ErrorType returns the ApplicationError type inside err, or "".
func ErrorType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}
