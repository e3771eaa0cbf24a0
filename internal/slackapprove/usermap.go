package slackapprove

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// UserMap maps a Slack user ID ("U012AB3CD", "W012AB3CD" on Enterprise Grid) to the Slipway identity the
// release's approval.approvers lists (an email, a GitHub login). A user who is not in it cannot decide.
type UserMap map[string]string

// Identity returns the identity of a Slack user.
func (m UserMap) Identity(slackUserID string) (string, bool) {
	id, ok := m[slackUserID]
	return id, ok && id != ""
}

// maxUserMapFile bounds the file LoadUserMap reads.
const maxUserMapFile = 4 << 20

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,31}$`)

// LoadUserMap reads a user map: a JSON object {"U123": "alice@example.com"}, or the same mapping in YAML
// when the file name ends in .yaml or .yml. Keys must look like Slack user IDs, identities must be
// non-empty and without spaces or control characters, and a key may appear once.
func LoadUserMap(path string) (UserMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("user map: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUserMapFile+1))
	if err != nil {
		return nil, fmt.Errorf("user map %s: %w", path, err)
	}
	if len(data) > maxUserMapFile {
		return nil, fmt.Errorf("user map %s: larger than %d bytes", path, maxUserMapFile)
	}
	var pairs [][2]string
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		pairs, err = yamlPairs(data)
	default:
		pairs, err = jsonPairs(data)
	}
	if err != nil {
		return nil, fmt.Errorf("user map %s: %w", path, err)
	}
	m := make(UserMap, len(pairs))
	for _, p := range pairs {
		k, v := p[0], p[1]
		if !slackUserID.MatchString(k) {
			return nil, fmt.Errorf("user map %s: %q is not a Slack user ID (U… or W…, upper-case letters and digits)", path, k)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("user map %s: %s appears twice", path, k)
		}
		if err := checkIdentity(v); err != nil {
			return nil, fmt.Errorf("user map %s: %s: %w", path, k, err)
		}
		m[k] = v
	}
	return m, nil
}

func checkIdentity(v string) error {
	if v == "" {
		return errors.New("empty identity")
	}
	if len(v) > 256 {
		return errors.New("identity longer than 256 bytes")
	}
	for _, r := range v {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("identity %q has a space or a control character", v)
		}
	}
	return nil
}

// jsonPairs reads one JSON object of strings, keeping duplicates so that they can be refused
// (encoding/json would silently keep the last).
func jsonPairs(data []byte) ([][2]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New(`want a JSON object {"U123": "alice@example.com"}`)
	}
	var pairs [][2]string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%v: want a string identity: %w", kt, err)
		}
		pairs = append(pairs, [2]string{kt.(string), v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return pairs, nil
}

// yamlPairs reads one YAML mapping of strings (yaml.v3 refuses duplicate keys itself).
func yamlPairs(data []byte) ([][2]string, error) {
	var m map[string]string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	pairs := make([][2]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, nil
}
