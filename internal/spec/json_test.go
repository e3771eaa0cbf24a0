package spec

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// policySections is a spec with every field of the scan and compliance sections set, so the JSON tests below
// cover each of their names.
const policySections = base + `scan:
  failOn: [CRITICAL, HIGH, MEDIUM]
  onlyFixed: true
  ignore:
    - id: CVE-2022-32149
      package: golang.org/x/text
      reason: only parses locale tags from our own configuration
      expires: 2999-06-30
  allowSingleScanner: true
  timeout: 15m
  attachReports: true
compliance:
  frameworks: [gdpr, pci]
  warningsBlock: true
  waivers:
    - rule: SEC-004
      reason: writes /tmp until 2.0 mounts an emptyDir
      expires: 2999-01-31
  settings:
    encryptionAtRest: true
    auditLogging: false
  attachReport: true
`

// policySectionsJSON is policySections, defaulted, as a workflow input (release.json) carries it; it was
// written by the build in which the scan and compliance policies still lived in internal/scan and
// internal/compliance, so it pins the JSON names a stored input or history already uses.
const policySectionsJSON = `{
  "apiVersion": "slipway.dev/v1alpha1",
  "kind": "ReleaseSpec",
  "app": {
    "name": "shop"
  },
  "environments": {
    "staging": {
      "namespace": "shop-staging",
      "replicas": 1
    },
    "production": {
      "namespace": "shop-production",
      "replicas": 2
    }
  },
  "image": {
    "repository": "registry.example.com/team/shop",
    "pullPolicy": "IfNotPresent",
    "tags": [
      "semver"
    ]
  },
  "scan": {
    "failOn": [
      "CRITICAL",
      "HIGH",
      "MEDIUM"
    ],
    "onlyFixed": true,
    "ignore": [
      {
        "id": "CVE-2022-32149",
        "package": "golang.org/x/text",
        "reason": "only parses locale tags from our own configuration",
        "expires": "2999-06-30"
      }
    ],
    "allowSingleScanner": true,
    "timeout": "15m0s",
    "attachReports": true
  },
  "container": {
    "port": 8080,
    "resources": {
      "requests": {},
      "limits": {}
    },
    "probes": {}
  },
  "blueGreen": {
    "activeService": "shop-active",
    "previewService": "shop-preview",
    "previewChecks": [
      {
        "name": "/health",
        "path": "/health",
        "expectStatus": 200
      }
    ],
    "progressDeadline": "10m0s",
    "scaleDownDelay": "30s"
  },
  "smoke": {
    "checks": [
      {
        "name": "/health",
        "path": "/health",
        "expectStatus": 200
      }
    ],
    "attempts": 5,
    "interval": "2s",
    "timeout": "5s"
  },
  "compliance": {
    "frameworks": [
      "gdpr",
      "pci"
    ],
    "waivers": [
      {
        "rule": "SEC-004",
        "reason": "writes /tmp until 2.0 mounts an emptyDir",
        "expires": "2999-01-31"
      }
    ],
    "warningsBlock": true,
    "settings": {
      "encryptionAtRest": true,
      "auditLogging": false
    },
    "attachReport": true
  },
  "notify": {}
}`

// demoJSON is examples/demo/slipway.yaml, defaulted, as JSON, written by the same build as policySectionsJSON.
const demoJSON = `{
  "apiVersion": "slipway.dev/v1alpha1",
  "kind": "ReleaseSpec",
  "app": {
    "name": "demo-app"
  },
  "environments": {
    "staging": {
      "namespace": "demo-staging",
      "replicas": 1
    },
    "production": {
      "namespace": "demo-production",
      "replicas": 2
    }
  },
  "image": {
    "repository": "127.0.0.1:5001/slipway/demo-app",
    "pullPolicy": "IfNotPresent",
    "source": "127.0.0.1:5001/ci/demo-app",
    "tags": [
      "semver",
      "major.minor"
    ],
    "signing": {
      "key": "env:SLIPWAY_DEMO_SIGNING_KEY",
      "publicKey": "env:SLIPWAY_DEMO_SIGNING_PUBLIC_KEY"
    }
  },
  "scan": {
    "failOn": [
      "CRITICAL",
      "HIGH"
    ],
    "timeout": "10m0s"
  },
  "container": {
    "port": 8080,
    "resources": {
      "requests": {
        "cpu": "50m",
        "memory": "32Mi"
      },
      "limits": {
        "cpu": "200m",
        "memory": "64Mi"
      }
    },
    "probes": {
      "liveness": {
        "path": "/health",
        "periodSeconds": 10,
        "failureThreshold": 3
      },
      "readiness": {
        "path": "/ready",
        "periodSeconds": 10,
        "failureThreshold": 3
      }
    },
    "securityContext": {
      "runAsNonRoot": true,
      "runAsUser": 10001,
      "readOnlyRootFilesystem": true,
      "allowPrivilegeEscalation": false,
      "dropCapabilities": [
        "ALL"
      ]
    },
    "env": [
      {
        "name": "LOG_LEVEL",
        "value": "info"
      }
    ]
  },
  "blueGreen": {
    "activeService": "demo-app-active",
    "previewService": "demo-app-preview",
    "previewChecks": [
      {
        "name": "/ready",
        "path": "/ready",
        "expectStatus": 200
      },
      {
        "name": "/version",
        "path": "/version",
        "expectStatus": 200
      }
    ],
    "progressDeadline": "2m0s",
    "scaleDownDelay": "5s"
  },
  "smoke": {
    "checks": [
      {
        "name": "/health",
        "path": "/health",
        "expectStatus": 200,
        "expectBody": "ok"
      },
      {
        "name": "/version",
        "path": "/version",
        "expectStatus": 200
      }
    ],
    "attempts": 5,
    "interval": "1s",
    "timeout": "2s"
  },
  "compliance": {
    "settings": {
      "encryptionAtRest": true,
      "auditLogging": true,
      "rateLimiting": true
    }
  },
  "notify": {}
}`

// A release.json written before must still decode to the spec its YAML gives, and a spec must come back from
// its JSON unchanged, through encoding/json and through the spec loader.
func TestStoredJSON(t *testing.T) {
	fromYAML, err := Parse([]byte(policySections), "deploy/slipway.yaml")
	require.NoError(t, err)
	demo, err := Load("../../examples/demo/slipway.yaml")
	require.NoError(t, err)

	for _, tt := range []struct {
		name   string
		spec   *Spec
		stored string
	}{
		{"scan and compliance sections", fromYAML, policySectionsJSON},
		{"demo spec", demo, demoJSON},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.spec)
			require.NoError(t, err)
			require.JSONEq(t, tt.stored, string(b), "the JSON names have not changed")

			var back Spec
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, tt.spec, &back)

			var stored Spec
			require.NoError(t, json.Unmarshal([]byte(tt.stored), &stored))
			require.Equal(t, tt.spec, &stored, "a stored input decodes to the same spec")

			parsed, err := Parse([]byte(tt.stored), "release.json")
			require.NoError(t, err)
			require.Equal(t, tt.spec, parsed, "the spec loader reads the JSON too")
		})
	}
}
