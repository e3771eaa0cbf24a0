package slackapprove

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayCache remembers the requests already accepted, so that a captured request cannot be sent again
// while its timestamp is still inside the window. An implementation may be shared between replicas.
type ReplayCache interface {
	// Add records key until expires and reports whether it was new: false means the key was recorded
	// before and has not expired, and the request is a replay. now is the handler's clock. An error refuses
	// the request (the cache could not tell).
	Add(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// ErrReplayCacheFull is returned by MemoryReplayCache.Add when every entry is still live: the request is
// refused rather than an entry dropped early, which would let that request be replayed.
var ErrReplayCacheFull = errors.New("replay cache full")

// MemoryReplayCache is an in-process ReplayCache holding at most a fixed number of live entries.
type MemoryReplayCache struct {
	mu        sync.Mutex
	max       int
	entries   map[string]time.Time
	lastSweep time.Time
}

// DefaultReplayEntries is the size of the cache a Handler without Replays makes: far more approval clicks
// than one workspace makes in ten minutes.
const DefaultReplayEntries = 10000

// NewMemoryReplayCache returns an empty cache of at most max entries (DefaultReplayEntries if max <= 0).
func NewMemoryReplayCache(max int) *MemoryReplayCache {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	return &MemoryReplayCache{max: max, entries: make(map[string]time.Time)}
}

// sweepEvery bounds how long expired entries stay when the cache is not full.
const sweepEvery = time.Minute

// Add implements ReplayCache.
func (c *MemoryReplayCache) Add(_ context.Context, key string, now, expires time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.entries[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(c.entries) >= c.max || now.Sub(c.lastSweep) >= sweepEvery || now.Before(c.lastSweep) {
		c.sweep(now)
	}
	if len(c.entries) >= c.max {
		return false, ErrReplayCacheFull
	}
	c.entries[key] = expires
	return true, nil
}

// Len is the number of entries held, expired or not.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *MemoryReplayCache) sweep(now time.Time) {
	for k, exp := range c.entries {
		if !now.Before(exp) {
			delete(c.entries, k)
		}
	}
	c.lastSweep = now
}
