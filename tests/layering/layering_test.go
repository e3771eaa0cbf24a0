// Package layering checks the house rules on who may import whom (DEVELOPERS' guide, "The house"), with
// `go list`, so a change that reaches up a layer or drags Kubernetes into the client fails `make test`.
package layering

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/vektagraf/slipway/"

// pkg is the part of `go list -json` these checks read.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// list runs `go list -deps=false -json` over the module's packages.
func list(t *testing.T, patterns ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Imports,Deps"}, patterns...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

func ours(paths []string) []string {
	var out []string
	for _, p := range paths {
		if strings.HasPrefix(p, module) {
			out = append(out, strings.TrimPrefix(p, module))
		}
	}
	return out
}

func TestLeafPackagesImportNothingAbove(t *testing.T) {
	pkgs := list(t, "./internal/spec", "./internal/releaseapi")
	if got := ours(pkgs["internal/spec"].Deps); len(got) > 0 {
		t.Errorf("internal/spec imports nothing of Slipway, but depends on %v", got)
	}
	if got := ours(pkgs["internal/releaseapi"].Deps); !slices.Equal(got, []string{"internal/spec"}) {
		t.Errorf("internal/releaseapi depends only on internal/spec, but on %v", got)
	}
}

func TestClientsLinkNoKubernetesClient(t *testing.T) {
	for name, p := range list(t, "./starter", "./cmd/slack-approver", "./internal/releases") {
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "k8s.io/client-go") {
				t.Errorf("%s links %s: a client needs only the release API", name, d)
				break
			}
		}
	}
}

func TestNoPackageReachesUpALayer(t *testing.T) {
	for name, p := range list(t, "./...") {
		imports := ours(p.Imports)
		switch {
		case strings.HasPrefix(name, "internal/"):
			for _, banned := range []string{"workflows", "activities"} {
				if slices.Contains(imports, banned) {
					t.Errorf("%s imports %s: internal packages never import workflows or activities", name, banned)
				}
			}
		case name == "activities":
			if slices.Contains(imports, "workflows") {
				t.Errorf("activities imports workflows")
			}
		case name == "workflows":
			for _, imp := range p.Imports {
				for _, banned := range []string{"k8s.io/client-go", "net/http", "os/exec", "github.com/slack-go/slack", "github.com/google/go-containerregistry"} {
					if strings.HasPrefix(imp, banned) {
						t.Errorf("workflows imports %s: workflow code reaches the world only through activities", imp)
					}
				}
			}
		}
	}
}
