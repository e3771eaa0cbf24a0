package activities

import (
	"context"
	"net/http"
)

// Prober runs smoke checks through a Service.
type Prober struct {
	HTTP    *http.Client
	BaseURL string
}

// SmokeCheck runs every check through the Service, retrying the list up to Attempts times.
func (p *Prober) SmokeCheck(ctx context.Context, in SmokeCheckInput) (SmokeCheckResult, error) {
	return SmokeCheckResult{}, errTODO
}
