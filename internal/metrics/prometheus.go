package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Prometheus runs PromQL instant queries through Prometheus's HTTP API.
type Prometheus struct {
	api v1.API
	// Timeout bounds one query on the server side; zero leaves it to the context.
	Timeout time.Duration
	// now is the evaluation time; tests pin it.
	now func() time.Time
}

// NewPrometheus connects to the Prometheus at address (http://host:port); client nil means a plain
// http.Client's transport.
func NewPrometheus(address string, client *http.Client) (*Prometheus, error) {
	cfg := api.Config{Address: address}
	if client != nil {
		cfg.Client = client
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", address, err)
	}
	return &Prometheus{api: v1.NewAPI(c), now: time.Now}, nil
}

// Query evaluates query now. A scalar or a one-series vector is the value; an empty vector is no data (nil);
// several series, a matrix or a string are a bad query (aggregate with sum() or similar). NaN is returned as
// it is: the analysis treats it as no data.
func (p *Prometheus) Query(ctx context.Context, query string) (*float64, error) {
	var opts []v1.Option
	if p.Timeout > 0 {
		opts = append(opts, v1.WithTimeout(p.Timeout))
	}
	res, _, _, err := p.api.Query(ctx, query, p.now(), opts...)
	if err != nil {
		var perr *v1.Error
		if errors.As(err, &perr) && perr.Type == v1.ErrBadData {
			return nil, badQuery("prometheus refused %q: %s", query, perr.Msg)
		}
		return nil, fmt.Errorf("prometheus query %q: %w", query, err)
	}
	switch v := res.(type) {
	case *model.Scalar:
		f := float64(v.Value)
		return &f, nil
	case model.Vector:
		switch len(v) {
		case 0:
			return nil, nil
		case 1:
			f := float64(v[0].Value)
			return &f, nil
		default:
			return nil, badQuery("%q returns %d series; aggregate it to one (sum, max, histogram_quantile ... by (le))", query, len(v))
		}
	default:
		return nil, badQuery("%q returns a %s, not a number", query, res.Type())
	}
}
