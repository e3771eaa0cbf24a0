package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/vektagraf/slipway/internal/fsutil"
	"github.com/vektagraf/slipway/internal/scan"
	"github.com/vektagraf/slipway/internal/scan/scanners"
)

// scanCacheVersion changes when the cache entry's format or meaning changes, so old entries are misses.
const scanCacheVersion = "slipway-scan-cache/v1"

// cacheEntry is one cached scan: the merged findings and what produced them.
type cacheEntry struct {
	Version   string                      `json:"version"`
	Findings  []scan.Finding              `json:"findings"`
	Scanners  []string                    `json:"scanners"`
	Databases map[string]scan.ScannerInfo `json:"databases"`
}

// cacheKey is the cache file's name for an image digest, or "" when nothing may be cached. It covers what
// decides the findings: the image, every scanner's database (the files that change with each build, e.g.
// Trivy's metadata.json and Grype's import.json, which holds the database file's digest, and the versions read
// from them) and every CLI (path, size and modification time: a new CLI at the same path is a miss, without
// running it to ask its version). Changing what is hashed, or its order, turns every entry on the workers'
// disks into a miss; TestScanCacheKeyIsStable notices.
func (s *Scanners) cacheKey(digest string, backends []scanners.Backend, dbs map[string]scan.ScannerInfo) string {
	if s.CacheDir == "" || digest == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", scanCacheVersion, digest)
	for _, b := range backends {
		for _, f := range b.DatabaseFiles() {
			data, _ := os.ReadFile(f)
			fmt.Fprintf(h, "%s %x\n", f, sha256.Sum256(data))
		}
	}
	for _, b := range backends {
		db := dbs[b.Name()]
		fmt.Fprintf(h, "%s %s %s\n", b.Name(), db.DBVersion, db.DBUpdatedAt.Format(time.RFC3339Nano))
	}
	for _, b := range backends {
		fmt.Fprintf(h, "%s", b.CLI())
		if st, err := os.Stat(b.CLI()); err == nil {
			fmt.Fprintf(h, " %d %d", st.Size(), st.ModTime().UnixNano())
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readCache returns the cached entry for key; anything unreadable is a miss.
func (s *Scanners) readCache(key string) (cacheEntry, bool) {
	if key == "" {
		return cacheEntry{}, false
	}
	data, err := os.ReadFile(filepath.Join(s.CacheDir, key+".json"))
	if err != nil {
		return cacheEntry{}, false
	}
	var e cacheEntry
	if json.Unmarshal(data, &e) != nil || e.Version != scanCacheVersion || len(e.Scanners) == 0 {
		return cacheEntry{}, false
	}
	return e, true
}

// writeCache stores an entry atomically; a failure only costs the next scan a cache miss, so it is logged,
// not returned.
func (s *Scanners) writeCache(ctx context.Context, key string, e cacheEntry, raw map[string][]byte) {
	if key == "" {
		return
	}
	err := func() error {
		if err := os.MkdirAll(s.CacheDir, 0o755); err != nil {
			return err
		}
		// The scanners' outputs first: an entry is only read when its .json exists, and its raw files are
		// then complete.
		for _, name := range e.Scanners {
			if _, err := scan.WriteRaw(s.CacheDir, key+"."+name, raw[name]); err != nil {
				return err
			}
		}
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		// 0o600, the mode entries have always had: only this worker reads its cache.
		return fsutil.WriteFileAtomic(filepath.Join(s.CacheDir, key+".json"), data, 0o600)
	}()
	if err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn("scan: result cache not written", "dir", s.CacheDir, "error", err)
	}
}

// readCachedRaw returns the scanners' outputs stored with a cache entry; a missing one is left out (the
// merged report is complete without it).
func (s *Scanners) readCachedRaw(key string, scanners []string) map[string][]byte {
	raw := map[string][]byte{}
	for _, name := range scanners {
		if data, err := os.ReadFile(filepath.Join(s.CacheDir, scan.RawFile(key+"."+name))); err == nil {
			raw[name] = data
		}
	}
	return raw
}
