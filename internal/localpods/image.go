package localpods

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// splitImage returns an image reference's repository, normalised the way a container runtime resolves it
// ("nginx" and "docker.io/library/nginx" are the same repository), and its tag, or its digest when the
// reference has no tag. ok is false for a reference that does not parse.
func splitImage(image string) (repo, tag string, ok bool) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", "", false
	}
	repo = ref.Context().Name()
	switch r := ref.(type) {
	case name.Tag:
		tag = r.TagStr()
	case name.Digest:
		tag = r.DigestStr()
		// "repo:tag@sha256:..." parses as a digest; keep the tag, it is what a person reads as the version.
		if before, _, found := strings.Cut(image, "@"); found {
			if t, err := name.NewTag(before); err == nil && strings.Contains(before[strings.LastIndex(before, "/")+1:], ":") {
				tag = t.TagStr()
			}
		}
	}
	return repo, tag, true
}

// normalizeRepo returns the repository a --program key names, in splitImage's form. A key that does not
// parse is kept as it is (it then matches nothing that parses).
func normalizeRepo(repo string) string {
	r, err := name.NewRepository(repo)
	if err != nil {
		return repo
	}
	return r.Name()
}
