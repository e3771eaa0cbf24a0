package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTags(t *testing.T) {
	all := []string{TagSemver, TagMajorMinor, TagMajor, TagSHA, TagBranch, TagLatest}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name, version  string
		kinds          []string
		commit, branch string
		want           []string
	}{
		{"v prefix", "v1.2.3", all, commit, "main", []string{"v1.2.3", "v1.2", "v1", "sha-0123456", "main", "latest"}},
		{"no prefix", "1.2.3", all, commit, "main", []string{"1.2.3", "1.2", "1", "sha-0123456", "main", "latest"}},
		{"v0 has no major tag", "v0.3.1", all, commit, "main", []string{"v0.3.1", "v0.3", "sha-0123456", "main", "latest"}},
		{"prerelease moves no moving tag", "v1.2.0-rc.1", all, commit, "main", []string{"v1.2.0-rc.1", "sha-0123456", "main"}},
		{"prerelease semver only", "v1.2.0-rc.1", []string{TagSemver, TagMajorMinor, TagMajor, TagLatest}, "", "", []string{"v1.2.0-rc.1"}},
		{"order of kinds", "v1.2.3", []string{TagLatest, TagSemver}, "", "", []string{"latest", "v1.2.3"}},
		{"duplicates removed", "v1.2.3", []string{TagSemver, TagLatest, TagSemver, TagBranch}, "", "latest", []string{"v1.2.3", "latest"}},
		{"sha only ignores the version", "", []string{TagSHA}, "ABCDEF1", "", []string{"sha-abcdef1"}},
		{"sha of a commit version", "abc1234", []string{TagSHA}, "abc1234", "", []string{"sha-abc1234"}},
		{"commit version moves no moving tag", "abc1234", all, "abc1234", "main", []string{"abc1234", "sha-abc1234", "main"}},
		{"branch with slashes", "", []string{TagBranch}, "", "feature/Login#2", []string{"feature-Login-2"}},
		{"branch ref", "", []string{TagBranch}, "", "refs/heads/release/1.x", []string{"release-1.x"}},
		{"branch leading dots and dashes", "", []string{TagBranch}, "", "..-/x", []string{"x"}},
		{"branch runs collapse", "", []string{TagBranch}, "", "a//+b", []string{"a-b"}},
		{"long branch is cut", "", []string{TagBranch}, "", strings.Repeat("b", 200), []string{strings.Repeat("b", 128)}},
		{"zero major minor", "v0.0.1", []string{TagMajorMinor, TagMajor}, "", "", []string{"v0.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReleaseTags(tc.version, tc.kinds, tc.commit, tc.branch)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			for _, tag := range got {
				require.True(t, ValidTag(tag), tag)
			}
		})
	}
}

func TestTagsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, version  string
		kinds          []string
		commit, branch string
		want           []string
	}{
		{"no kinds", "v1.2.3", nil, "", "", []string{"no tag kinds", "semver, major.minor"}},
		{"unknown kind", "v1.2.3", []string{"semver", "minor"}, "", "", []string{`unknown tag kind "minor"`, "use semver"}},
		{"missing version", "", []string{TagLatest}, "", "", []string{`"latest" needs the release version`}},
		{"neither semver nor commit", "release-7", []string{TagSemver}, "", "", []string{`tag kind "semver"`, "neither a semantic version", `drop "semver"`}},
		{"upper-case commit version", "ABC1234", []string{TagLatest}, "", "", []string{`tag kind "latest"`, "neither a semantic version"}},
		{"build metadata", "v1.2.3+build.5", []string{TagSemver}, "", "", []string{"build metadata", `"+build.5"`}},
		{"leading zero", "v01.2.3", []string{TagMajor}, "", "", []string{`tag kind "major"`, "neither a semantic version"}},
		{"two v", "vv1.2.3", []string{TagSemver}, "", "", []string{"neither a semantic version"}},
		{"short sha", "", []string{TagSHA}, "abc12", "", []string{`tag kind "sha"`, "7 to 40 hex", `"abc12"`}},
		{"non-hex sha", "", []string{TagSHA}, "xyz1234", "", []string{`tag kind "sha"`}},
		{"long sha", "", []string{TagSHA}, strings.Repeat("a", 41), "", []string{`tag kind "sha"`}},
		{"no branch", "", []string{TagBranch}, "", "", []string{`tag kind "branch"`, "branch name is empty"}},
		{"branch of nothing valid", "", []string{TagBranch}, "", "//..", []string{`tag kind "branch"`, "rename the branch"}},
		{"version too long for a tag", "v1.2.3-" + strings.Repeat("a", 130), []string{TagSemver}, "", "", []string{"not a valid tag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReleaseTags(tc.version, tc.kinds, tc.commit, tc.branch)
			require.Error(t, err)
			require.Nil(t, got)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}
