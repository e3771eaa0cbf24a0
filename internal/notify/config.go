package notify

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Environment variables ConfigFromEnv reads. A secret comes from its variable or from the file its _FILE
// variable names (a mounted Kubernetes or Docker secret), never both.
const (
	EnvToken          = "SLIPWAY_SLACK_TOKEN"
	EnvTokenFile      = "SLIPWAY_SLACK_TOKEN_FILE"
	EnvWebhookURL     = "SLIPWAY_SLACK_WEBHOOK_URL"
	EnvWebhookURLFile = "SLIPWAY_SLACK_WEBHOOK_URL_FILE"
	// EnvAPIURL points the Web API client elsewhere (a test server); default https://slack.com/api/.
	EnvAPIURL = "SLIPWAY_SLACK_API_URL"
	// EnvChannel is the default channel, for messages whose caller names none.
	EnvChannel = "SLIPWAY_SLACK_CHANNEL"
)

// Config is the worker's Slack configuration. Token (a bot token, xoxb-...) enables the Web API backend:
// threads, edits and buttons. WebhookURL (an incoming webhook) enables plain posts. Both are secrets: Config's
// String and GoString hide them, and its JSON leaves them out.
type Config struct {
	Token      string `json:"-"`
	WebhookURL string `json:"-"`
	// Channel is the default channel (an ID, C0123ABCD, or a name, #releases).
	Channel string `json:"channel,omitempty"`
	// APIURL is the Web API's base URL; "" means Slack's.
	APIURL string `json:"apiURL,omitempty"`
	// HTTPClient makes the calls; nil means a client with a 30s timeout.
	HTTPClient *http.Client `json:"-"`
}

// ConfigFromEnv reads SLIPWAY_SLACK_TOKEN or SLIPWAY_SLACK_TOKEN_FILE, SLIPWAY_SLACK_WEBHOOK_URL or
// SLIPWAY_SLACK_WEBHOOK_URL_FILE, SLIPWAY_SLACK_API_URL and SLIPWAY_SLACK_CHANNEL. Values and file contents are
// trimmed. Nothing set is not an error: New then returns Disabled.
func ConfigFromEnv() (Config, error) {
	token, err := secretFromEnv(EnvToken, EnvTokenFile)
	if err != nil {
		return Config{}, err
	}
	hook, err := secretFromEnv(EnvWebhookURL, EnvWebhookURLFile)
	if err != nil {
		return Config{}, err
	}
	return Config{
		Token:      token,
		WebhookURL: hook,
		Channel:    strings.TrimSpace(os.Getenv(EnvChannel)),
		APIURL:     strings.TrimSpace(os.Getenv(EnvAPIURL)),
	}, nil
}

// secretFromEnv reads a secret from the variable env or from the file fileEnv names. Errors name the variables
// and the file, never the value.
func secretFromEnv(env, fileEnv string) (string, error) {
	v, path := strings.TrimSpace(os.Getenv(env)), strings.TrimSpace(os.Getenv(fileEnv))
	switch {
	case v != "" && path != "":
		return "", fmt.Errorf("%w: set %s or %s, not both", ErrInvalidConfig, env, fileEnv)
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is in our message already
			}
			return "", fmt.Errorf("%w: %s: read %s: %v", ErrInvalidConfig, fileEnv, path, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%w: %s: %s is empty", ErrInvalidConfig, fileEnv, path)
		}
		return s, nil
	}
	return v, nil
}

// Backend names the backend New will choose: "slack", "webhook" or "disabled".
func (c Config) Backend() string {
	switch {
	case c.Token != "":
		return "slack"
	case c.WebhookURL != "":
		return "webhook"
	}
	return "disabled"
}

// String describes c without its secrets, so logging a Config is safe.
func (c Config) String() string {
	s := "notify.Config{backend: " + c.Backend()
	if c.Channel != "" {
		s += ", channel: " + c.Channel
	}
	if c.APIURL != "" {
		s += ", apiURL: " + c.APIURL
	}
	return s + "}"
}

// GoString is String, so %#v is safe too.
func (c Config) GoString() string { return c.String() }
