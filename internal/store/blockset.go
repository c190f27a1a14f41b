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
	bs.addLocked(tenant, b)
}

func (bs *blockSet) addLocked(tenant string, b *storedBlock) {
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

// replace adds b to tenant's blocks and removes those with the IDs in ids,
// in one step for readers; it returns the removed blocks.
func (bs *blockSet) replace(tenant string, ids []string, b *storedBlock) []*storedBlock {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	var removed []*storedBlock
	bs.byTenant[tenant] = slices.DeleteFunc(bs.byTenant[tenant], func(x *storedBlock) bool {
		if slices.Contains(ids, x.Meta().ID) {
			removed = append(removed, x)
			return true
		}
		return false
	})
	bs.addLocked(tenant, b)
	return removed
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

// tenants returns the tenants that have blocks, sorted.
func (bs *blockSet) tenants() []string {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	out := make([]string, 0, len(bs.byTenant))
	for t, l := range bs.byTenant {
		if len(l) > 0 {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// all returns a snapshot of every tenant's blocks.
func (bs *blockSet) all() []*storedBlock {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	var out []*storedBlock
	for _, l := range bs.byTenant {
		out = append(out, l...)
	}
	return out
}

// contains reports whether b is still one of the open blocks.
func (bs *blockSet) contains(b *storedBlock) bool {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	return slices.Contains(bs.byTenant[b.Meta().Tenant], b)
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

// expired returns the blocks whose newest span is older than the cutoff
// that cutoff returns for their tenant.
func (bs *blockSet) expired(cutoff func(tenant string) uint64) []*storedBlock {
	bs.mu.RLock()
	defer bs.mu.RUnlock()
	var out []*storedBlock
	for tenant, l := range bs.byTenant {
		c := cutoff(tenant)
		for _, b := range l {
			if b.Meta().MaxTimeUnixNano < c {
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
