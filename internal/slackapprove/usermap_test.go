package slackapprove

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestLoadUserMap(t *testing.T) {
	m, err := LoadUserMap(writeFile(t, "users.json", `{"U123": "alice@example.com", "W0ABC": "bob"}`))
	require.NoError(t, err)
	require.Equal(t, UserMap{"U123": "alice@example.com", "W0ABC": "bob"}, m)
	id, ok := m.Identity("U123")
	require.True(t, ok)
	require.Equal(t, "alice@example.com", id)
	_, ok = m.Identity("U999")
	require.False(t, ok)

	m, err = LoadUserMap(writeFile(t, "users.yaml", "U123: alice@example.com\nU456: carol\n"))
	require.NoError(t, err)
	require.Equal(t, UserMap{"U123": "alice@example.com", "U456": "carol"}, m)

	m, err = LoadUserMap(writeFile(t, "users.json", `{}`))
	require.NoError(t, err)
	require.Empty(t, m)
}

func TestLoadUserMapErrors(t *testing.T) {
	for name, c := range map[string]struct{ file, content, want string }{
		"duplicate key":      {"u.json", `{"U123": "alice", "U123": "mallory"}`, "appears twice"},
		"duplicate key yaml": {"u.yml", "U123: alice\nU123: mallory\n", "already defined"},
		"not a user ID":      {"u.json", `{"alice": "alice@example.com"}`, "not a Slack user ID"},
		"lower-case ID":      {"u.json", `{"u123": "alice"}`, "not a Slack user ID"},
		"empty identity":     {"u.json", `{"U123": ""}`, "empty identity"},
		"space in identity":  {"u.json", `{"U123": "alice smith"}`, "space"},
		"number identity":    {"u.json", `{"U123": 5}`, "want a string"},
		"array":              {"u.json", `["U123"]`, "want a JSON object"},
		"trailing data":      {"u.json", `{"U123": "a"} {}`, "after the JSON object"},
		"not JSON":           {"u.json", `U123: alice`, "want a JSON object"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadUserMap(writeFile(t, c.file, c.content))
			require.ErrorContains(t, err, c.want)
		})
	}
	_, err := LoadUserMap(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
