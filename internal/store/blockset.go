package store

import (
	"errors"
	"slices"
	"sync"
)

// blockSet holds the open blocks of every tenant, each tenant's sorted by
// newest data first.
type blockSet struct {
	mu       sync.RWMutex
	byTenant map[string][]*storedBlock
}

func newBlockSet() *blockSet { return &blockSet{byTenant: make(map[string][]*storedBlock)} }

func (bs *blockSet) add(tenant string, b *storedBlock) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	list := append(bs.byTenant[tenant], b)
	slices.SortFunc(list, func(x, y *storedBlock) int {
		mx, my := x.Meta(), y.Meta()
		switch {
		case mx.MaxTimeUnixNano > my.MaxTimeUnixNano:
			return -1
		case mx.MaxTimeUnixNano < my.MaxTimeUnixNano:
			return 1
		}
		if mx.ID > my.ID {
			return -1
		}
		return 1
	})
	bs.byTenant[tenant] = list
}

func (bs *blockSet) remove(tenant, id string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.byTenant[tenant] = slices.DeleteFunc(bs.byTenant[tenant], func(b *storedBlock) bool { return b.Meta().ID == id })
}

// list returns a snapshot of tenant's blocks, newest first.
func (bs *blockSet) list(tenant string) []*storedBlock {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	return slices.Clone(bs.byTenant[tenant])
}

// count returns the number of open blocks.
func (bs *blockSet) count() int {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	n := 0
	for _, l := range bs.byTenant {
		n += len(l)
	}
	return n
}

// expired returns the blocks whose newest span is older than cutoff.
func (bs *blockSet) expired(cutoff uint64) []*storedBlock {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	var out []*storedBlock
	for _, l := range bs.byTenant {
		for _, b := range l {
			if b.Meta().MaxTimeUnixNano < cutoff {
				out = append(out, b)
			}
		}
	}
	return out
}

func (bs *blockSet) closeAll() error {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	var errs []error
	for _, l := range bs.byTenant {
		for _, b := range l {
			errs = append(errs, b.Close())
		}
	}
	bs.byTenant = make(map[string][]*storedBlock)
	return errors.Join(errs...)
}
