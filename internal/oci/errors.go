// Package oci holds what Slipway's registry code (internal/promote, internal/signing) shares about OCI
// registries' answers.
package oci

import (
	"errors"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// IsNotFound reports whether err is a registry saying the manifest or the repository does not exist (HTTP 404,
// MANIFEST_UNKNOWN or NAME_UNKNOWN), which callers treat as "no such tag yet" rather than as a failure.
func IsNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
