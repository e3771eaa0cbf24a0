// Package config reads the settings the worker and the starter share from the environment, with the names the
// Temporal CLI uses (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ...), so one shell setup serves both tools.
package config

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Temporal is how to reach the Temporal frontend. Secrets (API key, client key) are read from the environment
// or files here, in the process that needs them; they never travel in workflow inputs.
type Temporal struct {
	Address   string
	Namespace string
	// WebUI is the Web UI's base URL, for the links the starter prints.
	WebUI string
	// APIKeyEnv names the variable holding an API key (Temporal Cloud); empty means none.
	APIKeyEnv string
	// TLSCertFile and TLSKeyFile enable mTLS when both are set.
	TLSCertFile, TLSKeyFile string
}

// FromEnv reads TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"),
// SLIPWAY_WEB_UI (default http://127.0.0.1:8233), TEMPORAL_API_KEY, TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY.
func FromEnv() Temporal {
	t := Temporal{
		Address:     getenv("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		Namespace:   getenv("TEMPORAL_NAMESPACE", "default"),
		WebUI:       getenv("SLIPWAY_WEB_UI", "http://127.0.0.1:8233"),
		TLSCertFile: os.Getenv("TEMPORAL_TLS_CERT"),
		TLSKeyFile:  os.Getenv("TEMPORAL_TLS_KEY"),
	}
	if os.Getenv("TEMPORAL_API_KEY") != "" {
		t.APIKeyEnv = "TEMPORAL_API_KEY"
	}
	return t
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// ClientOptions builds the SDK's options, loading credentials from the referenced files and variables.
func (t Temporal) ClientOptions(logger *slog.Logger) (client.Options, error) {
	opts := client.Options{HostPort: t.Address, Namespace: t.Namespace}
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger)
	}
	if (t.TLSCertFile == "") != (t.TLSKeyFile == "") {
		return opts, fmt.Errorf("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both or neither")
	}
	if t.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.TLSCertFile, t.TLSKeyFile)
		if err != nil {
			return opts, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
		}
		opts.ConnectionOptions.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if t.APIKeyEnv != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(os.Getenv(t.APIKeyEnv))
		if opts.ConnectionOptions.TLS == nil {
			opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	return opts, nil
}
