// Package signing signs container images the way cosign does with a key pair, and verifies such signatures,
// so that `cosign verify --key cosign.pub IMAGE@DIGEST` accepts what Slipway signs and Slipway accepts what
// `cosign sign --key` signs.
//
// Keys are ECDSA P-256. A private key is read as a PEM PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY")
// block, a public key as a PEM PKIX ("PUBLIC KEY") block, cosign.pub's format. cosign's own encrypted private
// keys are refused: decrypting them needs the password and a cipher the standard library lacks; export the key
// unencrypted or make a new one (go run ./cmd/keygen DIR).
//
// Keys are named by references: "file:/absolute/path" or "env:NAME" (the variable holds the PEM text). No
// error of this package contains key material; key errors name the reference and say how to fix it.
package signing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrKey is the class of every key error (errors.Is(err, ErrKey)): a reference that is malformed, names
// nothing, or holds something other than a usable P-256 key. Retrying does not fix it; an operator does.
var ErrKey = errors.New("signing key")

// KeyError is a key that cannot be used. It never holds key material.
type KeyError struct {
	// Ref is the key reference as given ("file:/path" or "env:NAME").
	Ref string
	// Reason says what is wrong and how to fix it.
	Reason string
	// Err is the underlying error, if any (e.g. from os.ReadFile); never one that quotes the key.
	Err error
}

func (e *KeyError) Error() string {
	msg := fmt.Sprintf("signing key %q: %s", e.Ref, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap gives ErrKey and the underlying error.
func (e *KeyError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrKey, e.Err}
	}
	return []error{ErrKey}
}

// How to make a key this package reads; the key errors quote it.
const keyHelp = "want an unencrypted ECDSA P-256 private key in PEM (PKCS#8 \"PRIVATE KEY\" or SEC 1 \"EC PRIVATE KEY\"); " +
	"make one with `go run ./cmd/keygen DIR` or " +
	"`openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out cosign.key`"

const pubHelp = "want an ECDSA P-256 public key in PEM (PKIX \"PUBLIC KEY\", the format of cosign.pub); " +
	"`go run ./cmd/keygen DIR` writes one next to the private key, and " +
	"`openssl pkey -in cosign.key -pubout` derives one from a private key"

// maxKeySize bounds what is read from a key reference: a PEM P-256 key is a few hundred bytes.
const maxKeySize = 64 << 10

// GenerateKey makes a new ECDSA P-256 key pair: the private key as PEM PKCS#8 ("PRIVATE KEY"), the public
// key as PEM PKIX ("PUBLIC KEY"), which `cosign verify --key` reads.
func GenerateKey() (privatePEM, publicPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), nil
}

// PublicKeyPEM encodes pub as PEM PKIX ("PUBLIC KEY").
func PublicKeyPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// LoadPrivateKey reads the ECDSA P-256 private key ref names ("file:/abs/path" or "env:NAME").
// Every error is a *KeyError.
func LoadPrivateKey(ref string) (*ecdsa.PrivateKey, error) {
	data, err := readRef(ref, keyHelp)
	if err != nil {
		return nil, err
	}
	block, err := firstKeyBlock(ref, data, keyHelp)
	if err != nil {
		return nil, err
	}
	bad := func(reason string) error { return &KeyError{Ref: ref, Reason: reason + "; " + keyHelp} }
	var parsed any
	switch block.Type {
	case "PRIVATE KEY":
		// x509's parse errors describe the structure, never the bytes.
		if parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			return nil, bad("the PKCS#8 key does not parse (" + err.Error() + ")")
		}
	case "EC PRIVATE KEY":
		if parsed, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
			return nil, bad("the EC key does not parse (" + err.Error() + ")")
		}
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		return nil, bad("this is cosign's password-encrypted key format, which Slipway does not read " +
			"(export the key unencrypted, or use a new key and give verifiers its public key)")
	case "ENCRYPTED PRIVATE KEY":
		return nil, bad("the key is password-encrypted (PKCS#8 with a password); decrypt it with `openssl pkcs8 -topk8 -nocrypt -in KEY`")
	case "RSA PRIVATE KEY":
		return nil, bad("this is an RSA key")
	case "PUBLIC KEY":
		return nil, bad("this is a public key, not a private key")
	default:
		return nil, bad(fmt.Sprintf("PEM block type %q is not a private key this package reads", block.Type))
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, bad(fmt.Sprintf("this is a %s key", keyKind(parsed)))
	}
	if key.Curve != elliptic.P256() {
		return nil, bad(fmt.Sprintf("the ECDSA key is on curve %s, not P-256", key.Curve.Params().Name))
	}
	return key, nil
}

// LoadPublicKey reads the ECDSA P-256 public key ref names ("file:/abs/path" or "env:NAME"), e.g. cosign.pub.
// Every error is a *KeyError.
func LoadPublicKey(ref string) (*ecdsa.PublicKey, error) {
	data, err := readRef(ref, pubHelp)
	if err != nil {
		return nil, err
	}
	block, err := firstKeyBlock(ref, data, pubHelp)
	if err != nil {
		return nil, err
	}
	bad := func(reason string) error { return &KeyError{Ref: ref, Reason: reason + "; " + pubHelp} }
	switch block.Type {
	case "PUBLIC KEY":
	case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
		"ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		return nil, bad("this is a private key; verifiers get the public key only")
	case "CERTIFICATE":
		return nil, bad("this is a certificate; give its public key")
	default:
		return nil, bad(fmt.Sprintf("PEM block type %q is not a public key", block.Type))
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, bad("the public key does not parse (" + err.Error() + ")")
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok {
		return nil, bad(fmt.Sprintf("this is a %s public key", keyKind(parsed)))
	}
	if pub.Curve != elliptic.P256() {
		return nil, bad(fmt.Sprintf("the ECDSA key is on curve %s, not P-256", pub.Curve.Params().Name))
	}
	return pub, nil
}

// readRef returns the bytes ref names.
func readRef(ref, help string) ([]byte, error) {
	scheme, rest, ok := strings.Cut(ref, ":")
	if strings.Contains(ref, "-----") || strings.ContainsAny(ref, "\r\n") {
		// Someone pasted the key itself where its reference goes: never echo it.
		return nil, &KeyError{Ref: "(not shown)", Reason: "this looks like key material, not a key reference; " +
			"put the PEM key in a file or an environment variable of the worker and write file:/absolute/path or env:VARIABLE"}
	}
	switch {
	case ref == "":
		return nil, &KeyError{Ref: ref, Reason: "no key reference; write file:/absolute/path or env:VARIABLE"}
	case ok && scheme == "file":
		if !filepath.IsAbs(rest) {
			return nil, &KeyError{Ref: ref, Reason: "the path is not absolute; write file:/absolute/path " +
				"(a relative path would depend on the worker's working directory)"}
		}
		f, err := os.Open(filepath.Clean(rest))
		if err != nil {
			return nil, &KeyError{Ref: ref, Reason: "cannot open the key file; check the path and that the worker may read it", Err: pathless(err)}
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxKeySize+1))
		if err != nil {
			return nil, &KeyError{Ref: ref, Reason: "cannot read the key file", Err: pathless(err)}
		}
		if len(data) > maxKeySize {
			return nil, &KeyError{Ref: ref, Reason: fmt.Sprintf("the file is larger than %d bytes, too large for a key; %s", maxKeySize, help)}
		}
		return data, nil
	case ok && scheme == "env":
		if rest == "" || strings.ContainsAny(rest, "= \t") {
			return nil, &KeyError{Ref: ref, Reason: "no valid variable name; write env:VARIABLE"}
		}
		v, set := os.LookupEnv(rest)
		if !set || strings.TrimSpace(v) == "" {
			return nil, &KeyError{Ref: ref, Reason: fmt.Sprintf("the worker's environment variable %s is unset or empty; put the PEM key in it", rest)}
		}
		if len(v) > maxKeySize {
			return nil, &KeyError{Ref: ref, Reason: fmt.Sprintf("the variable holds more than %d bytes, too large for a key; %s", maxKeySize, help)}
		}
		return []byte(v), nil
	case ok && isScheme(scheme):
		return nil, &KeyError{Ref: ref, Reason: fmt.Sprintf("unknown scheme %q; write file:/absolute/path or env:VARIABLE", scheme)}
	case filepath.IsAbs(ref):
		return nil, &KeyError{Ref: ref, Reason: "not a key reference; write file:" + ref}
	default:
		// Not echoed: an unrecognized string may be a secret pasted into the wrong field.
		return nil, &KeyError{Ref: "(not shown)", Reason: "not a key reference; write file:/absolute/path or env:VARIABLE"}
	}
}

// isScheme reports whether s looks like a URI scheme (letters, digits, +, -, ., starting with a letter).
func isScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// pathless drops the path an *os.PathError repeats (the reference already names it).
func pathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// firstKeyBlock returns the first PEM block of data, skipping "EC PARAMETERS" (which `openssl ecparam -genkey`
// writes before the key).
func firstKeyBlock(ref string, data []byte, help string) (*pem.Block, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, &KeyError{Ref: ref, Reason: "no PEM key found (want a -----BEGIN ...----- block); " + help}
		}
		if block.Type != "EC PARAMETERS" {
			return block, nil
		}
	}
}

func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "ECDSA"
	}
	t := fmt.Sprintf("%T", k)
	switch {
	case strings.Contains(t, "rsa."):
		return "RSA"
	case strings.Contains(t, "ed25519."):
		return "Ed25519"
	case strings.Contains(t, "ecdh."):
		return "ECDH"
	}
	return "non-ECDSA"
}
