package otlp

import "waymark/internal/model"

// arena hands out attribute lists cut from large shared arrays, so that a
// batch of spans costs a few allocations instead of one per span. Lists are
// built one at a time between begin and end; each is returned with its
// capacity equal to its length, so appending to it reallocates rather than
// overwriting the next list.
type arena struct {
	buf   []model.Attribute
	start int // first element of the list being built
	total int // elements handed out so far
}

// begin starts a new list.
func (a *arena) begin() { a.start = len(a.buf) }

// add appends kv to the current list. When the array is full, hint gives
// the size of the next one.
func (a *arena) add(kv model.Attribute, hint func() int) {
	if len(a.buf) == cap(a.buf) {
		a.grow(hint())
	}
	a.buf = append(a.buf, kv)
}

// grow moves the current list to a new array of at least size elements.
func (a *arena) grow(size int) {
	n := len(a.buf) - a.start
	size = max(size, 2*n, 16)
	next := make([]model.Attribute, n, size)
	copy(next, a.buf[a.start:])
	a.buf, a.start = next, 0
}

// end returns the current list, or nil if it is empty.
func (a *arena) end() model.Attributes {
	n := len(a.buf) - a.start
	if n == 0 {
		return nil
	}
	a.total += n
	list := a.buf[a.start:len(a.buf):len(a.buf)]
	a.start = len(a.buf)
	return list
}
