// Package metrics asks metric providers for the numbers a release's analysis judges: one small interface,
// one file per provider (prometheus.go, web.go). A provider answers a query with a number, with no number
// (nil: no series, an empty result; the analysis calls that inconclusive, never a pass), or with an error
// (unreachable, a refused query; the analysis counts errors apart from failures).
package metrics

import (
	"context"
	"errors"
	"fmt"
)

// Provider answers one rendered query.
type Provider interface {
	Query(ctx context.Context, query string) (*float64, error)
}

// ErrBadQuery marks an answer that will not change on a retry: the provider refused the query (a PromQL
// syntax error) or its result cannot be one number (several series, a string). The analysis counts it as an
// error like any other, and the activity can tell it from an outage.
var ErrBadQuery = errors.New("bad query")

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
}
