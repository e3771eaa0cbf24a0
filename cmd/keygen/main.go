// Command keygen makes an ECDSA P-256 key pair for image signing:
//
//	go run ./cmd/keygen DIR
//
// writes DIR/cosign.key (mode 0600, unencrypted PKCS#8 PEM, "PRIVATE KEY") and DIR/cosign.pub (mode 0644, PKIX
// PEM, "PUBLIC KEY"), creating DIR (0700) if needed, and prints the two paths on stdout. It never overwrites
// a file: if either exists, it writes nothing.
//
// The worker signs with the private key (SignImage's key "file:/abs/DIR/cosign.key", or the PEM in an
// environment variable, "env:NAME"); anyone checks the signature with the public key:
//
//	cosign verify --key DIR/cosign.pub REGISTRY/REPO@sha256:...
//
// The private key is not password-protected: keep it where only the worker can read it. cosign reads this
// format for verification; to sign with it from the cosign CLI as well, `cosign import-key-pair --key
// DIR/cosign.key` converts it to cosign's encrypted format.
//
// Exit status: 0 done, 1 the files could not be written (or exist), 2 a bad argument.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vektagraf/slipway/internal/signing"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: keygen DIR (writes DIR/cosign.key and DIR/cosign.pub)"

// run is the command without the process around it: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintln(stderr, usage)
		if len(args) == 1 && args[0] != "" {
			return 0
		}
		return 2
	}
	keyPath, pubPath, err := keygen(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "keygen: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, keyPath)
	fmt.Fprintln(stdout, pubPath)
	return 0
}

func keygen(dir string) (keyPath, pubPath string, err error) {
	keyPath, pubPath = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s exists; keygen never overwrites a key: remove it or choose another directory", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", "", err
		}
	}
	priv, pub, err := signing.GenerateKey()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	if err := create(keyPath, priv, 0o600); err != nil {
		return "", "", err
	}
	if err := create(pubPath, pub, 0o644); err != nil {
		_ = os.Remove(keyPath) // a private key without its public key is of no use to anyone
		return "", "", err
	}
	return keyPath, pubPath, nil
}

// create writes a new file with exactly perm (whatever the umask), failing if it exists.
func create(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; keygen never overwrites a key: remove it or choose another directory", path)
		}
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		_ = os.Remove(path)
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}
