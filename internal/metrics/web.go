package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/client-go/util/jsonpath"
)

// maxWebBody bounds a web provider's answer; a metric endpoint answers in bytes, not megabytes.
const maxWebBody = 1 << 20

// Web reads a number from an HTTP JSON endpoint: GET the rendered URL, pick the value with a JSONPath
// (kubectl's syntax, `{.data.successRate}`). A number, or a string holding one, is the value; a path that
// matches nothing or null is no data.
type Web struct {
	HTTP     *http.Client
	JSONPath string
}

// Query GETs rawURL (http or https only, no redirects followed, answers over 1 MiB refused).
func (w *Web) Query(ctx context.Context, rawURL string) (*float64, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, badQuery("web metric URL %q: want http(s)://host/path", rawURL)
	}
	jp := jsonpath.New("metric")
	if err := jp.Parse(w.JSONPath); err != nil {
		return nil, badQuery("jsonPath %q: %v", w.JSONPath, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, badQuery("web metric URL %q: %v", rawURL, err)
	}
	req.Header.Set("Accept", "application/json")
	c := *clientOrDefault(w.HTTP)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("web metric %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWebBody+1))
	if err != nil {
		return nil, fmt.Errorf("web metric %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode/100 != 2 {
		// The body is not repeated: an error page may hold what the caller should not see in a release's status.
		return nil, fmt.Errorf("web metric %s: status %d", u.Redacted(), resp.StatusCode)
	}
	if len(body) > maxWebBody {
		return nil, badQuery("web metric %s: answer larger than %d bytes", u.Redacted(), maxWebBody)
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, badQuery("web metric %s: not JSON: %v", u.Redacted(), err)
	}
	results, err := jp.FindResults(doc)
	if err != nil || len(results) == 0 || len(results[0]) == 0 {
		return nil, nil // the path matched nothing: no data
	}
	if len(results) > 1 || len(results[0]) > 1 {
		return nil, badQuery("jsonPath %q matches several values; narrow it to one", w.JSONPath)
	}
	switch v := results[0][0].Interface().(type) {
	case nil:
		return nil, nil
	case float64:
		return &v, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, badQuery("jsonPath %q gives %q, not a number", w.JSONPath, v)
		}
		return &f, nil
	default:
		return nil, badQuery("jsonPath %q gives a %T, not a number", w.JSONPath, v)
	}
}

func clientOrDefault(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{}
	}
	return c
}
