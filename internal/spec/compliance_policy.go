package spec

// Frameworks a compliance rule can belong to and compliance.frameworks can choose, written as a spec writes
// them.
const (
	FrameworkGDPR  = "gdpr"
	FrameworkHIPAA = "hipaa"
	FrameworkSOX   = "sox"
	FrameworkPCI   = "pci"
)

// AllFrameworks lists every framework, in the order reports show them; a policy naming none chooses all.
var AllFrameworks = []string{FrameworkGDPR, FrameworkHIPAA, FrameworkPCI, FrameworkSOX}

// IDs of the built-in compliance rules: what a waiver names in compliance.waivers, so they are part of the
// spec's vocabulary. internal/compliance's catalog gives each its title, frameworks and check, under these
// constants; a test there keeps the catalog and RuleIDs the same set.
const (
	RuleRunAsNonRoot           = "SEC-001"
	RuleNoPrivilegeEscalation  = "SEC-002"
	RuleDropAllCapabilities    = "SEC-003"
	RuleReadOnlyRootFilesystem = "SEC-004"
	RuleResources              = "SEC-005"
	RuleProbes                 = "SEC-006"
	RuleImageDigest            = "SEC-007"
	RuleImageScanned           = "SEC-008"
	RuleImageSigned            = "SEC-009"
	RuleNoSecretsInEnv         = "SEC-010"
	RuleEncryptionAtRest       = "SEC-011"
	RuleAuditLogging           = "SEC-012"
	RuleRateLimiting           = "SEC-013"
)

// RuleIDs lists every rule a waiver may name, in ID order, the order a validation message lists them in.
var RuleIDs = []string{
	RuleRunAsNonRoot, RuleNoPrivilegeEscalation, RuleDropAllCapabilities, RuleReadOnlyRootFilesystem,
	RuleResources, RuleProbes, RuleImageDigest, RuleImageScanned, RuleImageSigned, RuleNoSecretsInEnv,
	RuleEncryptionAtRest, RuleAuditLogging, RuleRateLimiting,
}

// CompliancePolicy chooses the frameworks whose rules run, the accepted exceptions, and whether warnings
// block: the compliance section of the spec (its fields sit at the top level of the section, see Compliance).
// It is also the compliance gate's input (activities.ComplianceInput.Policy) and part of its report, so its
// JSON and YAML names are the ones a team writes. internal/compliance evaluates it.
type CompliancePolicy struct {
	// Frameworks lists the frameworks whose rules run (gdpr, hipaa, sox, pci); empty means all of them. A rule
	// runs when it belongs to any chosen framework.
	Frameworks []string `json:"frameworks,omitempty" yaml:"frameworks,omitempty"`
	// Waivers lists accepted exceptions, each with a reason and an expiry date.
	Waivers []Waiver `json:"waivers,omitempty" yaml:"waivers,omitempty"`
	// WarningsBlock stops the release on a warning too (an undeclared setting, an unsigned image); waived rules
	// still pass, since their warning is an exception someone accepted on purpose.
	WarningsBlock bool `json:"warningsBlock,omitempty" yaml:"warningsBlock,omitempty"`
}

// Waiver accepts one rule's failure (or warning) until a date. A waived rule passes with a warning that
// carries the reason, so the exception is visible in every report; it never hides an "error".
type Waiver struct {
	// Rule is the rule's ID, one of RuleIDs, e.g. "SEC-004".
	Rule string `json:"rule" yaml:"rule"`
	// Reason says why the risk is accepted and what replaces the control meanwhile; required.
	Reason string `json:"reason" yaml:"reason"`
	// Expires is the date (YYYY-MM-DD, UTC) from which the waiver no longer applies and validation refuses
	// it; required.
	Expires Date `json:"expires" yaml:"expires"`
}

// ComplianceSettings is what the team declares about the app: facts Slipway cannot see in a Deployment
// (whether the data store encrypts, whether the app writes an audit log, whether something in front of it
// limits request rates). Nil means not declared, which the rules treat as not done (a warning for rate
// limiting); declaring a false value is allowed and honest, and fails the rule.
type ComplianceSettings struct {
	// EncryptionAtRest: the data the app stores (its database, its volumes, its backups) is encrypted at rest.
	EncryptionAtRest *bool `json:"encryptionAtRest,omitempty" yaml:"encryptionAtRest,omitempty"`
	// AuditLogging: the app records who read or changed which data, and keeps the record.
	AuditLogging *bool `json:"auditLogging,omitempty" yaml:"auditLogging,omitempty"`
	// RateLimiting: requests to the app are rate limited (by the app, an ingress or a gateway).
	RateLimiting *bool `json:"rateLimiting,omitempty" yaml:"rateLimiting,omitempty"`
}
