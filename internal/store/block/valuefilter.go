package block

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// The value filter lets a search skip a block for an equality condition on
// a high-cardinality attribute key (request IDs, user IDs), whose values a
// block summary cannot list. While a block is written, the distinct values
// of each span and resource attribute key are counted exactly up to
// valueFilterCap; a key with more becomes a filtered key, and every value
// it has in the block goes into one bloom filter over (scope, key, value).
// So does a key with a value a summary does not list (long strings,
// arrays, maps, bytes). Other keys are left to the summary and are not in
// the filter.
//
// Values of every type are hashed by their text form (model.Value.AsString),
// which is what filter.Condition equality compares except between two
// numbers; each filtered key records whether it has int or double values,
// so that numeric conditions are answered exactly or not at all.
const (
	// valueFilterCap is the number of distinct values up to which a key is
	// not filtered. It must not exceed summary.MaxValuesPerKey, so that
	// every key whose summary list is cut short for its number of values
	// is filtered.
	valueFilterCap = 64
	// valueFilterLongValue is the string length above which a value makes
	// its key filtered: at most the longest value a summary lists.
	valueFilterLongValue = 128
	// maxSeenResources bounds the resources remembered as added.
	maxSeenResources = 1024
	// valueBitsPerValue sizes the filter for its distinct values: with
	// bloomHashes probes, about 0.8 % false positives.
	valueBitsPerValue = 10
	// maxValueKeys bounds the keys tracked per scope while writing; the
	// values of keys beyond it are not filtered (they never prune).
	maxValueKeys = 1 << 14
	// maxFilterValues bounds the distinct values of a block's filter
	// (about 80 MB of filter); a block with more gets no filter at all.
	maxFilterValues = 1 << 26
	// maxExactFloat is 2^53: integers of smaller magnitude convert to
	// float64 and back exactly.
	maxExactFloat = 1 << 53
)

// Scopes of filtered keys, as encoded in the index.
const (
	valueScopeSpan     = 1
	valueScopeResource = 2
)

// Flags of a filtered key: the value types its text forms stand for.
const (
	valueHasInt    = 1 << 0
	valueHasDouble = 1 << 1
	valueFlagsMask = valueHasInt | valueHasDouble
)

// valueKey names a filtered key.
type valueKey struct {
	scope uint8
	key   string
}

// valueFilter is the decoded value-filter section of the index: the
// filtered keys with their flags and one bloom filter of their values. An
// empty filter (no keys) filters nothing.
type valueFilter struct {
	keys  map[valueKey]uint8
	bloom bloom
}

// keyHash hashes a scope and key; the hash of a value of the key starts
// from it.
func keyHash(scope uint8, key string) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.Write([]byte{scope})
	_, _ = d.WriteString(key)
	return d.Sum64()
}

// valueHash returns the first probe hash of a value, of text hash th, of
// the key of hash kh.
func valueHash(kh, th uint64) uint64 {
	h1, _ := pairHashes(kh, th)
	return h1
}

// appendValueText appends v's text form (model.Value.AsString) to buf.
func appendValueText(buf []byte, v model.Value) []byte {
	switch v.Type {
	case model.ValueInt:
		return strconv.AppendInt(buf, v.Int, 10)
	case model.ValueDouble:
		return strconv.AppendFloat(buf, v.Double, 'g', -1, 64)
	case model.ValueBool:
		return strconv.AppendBool(buf, v.Bool())
	}
	return append(buf, v.Str...)
}

// mayContain reports whether a span may have value v under key in scope,
// for an equality condition (filter.OpEq) comparing it with v. It is false
// only when key is filtered and no value the condition equals is in the
// filter.
func (f *valueFilter) mayContain(scope uint8, key string, v model.Value) bool {
	flags, ok := f.keys[valueKey{scope, key}]
	if !ok {
		return true
	}
	// probes are the text forms of the values v equals: its own text form
	// equals every string (and bool) the condition equals, and integers
	// compare numerically, which for an integral magnitude below 2^53 is
	// equality of decimal text.
	var probes [2][]byte
	n := 0
	switch v.Type {
	case model.ValueInt:
		if flags&valueHasDouble != 0 || (flags&valueHasInt != 0 && (v.Int >= maxExactFloat || v.Int <= -maxExactFloat)) {
			return true
		}
	case model.ValueDouble:
		if flags&valueHasDouble != 0 {
			return true
		}
		if d := v.Double; flags&valueHasInt != 0 && d == math.Trunc(d) {
			if math.Abs(d) >= maxExactFloat {
				return true
			}
			probes[n] = strconv.AppendInt(nil, int64(d), 10)
			n++
		}
	}
	probes[n] = appendValueText(nil, v)
	n++
	kh := keyHash(scope, key)
	for _, text := range probes[:n] {
		if f.bloom.mayContainHashes(secondHash(valueHash(kh, xxhash.Sum64(text)))) {
			return true
		}
	}
	return false
}

// MayContainValue reports whether some span of the block may have the
// attribute key with a value equal to v (as filter.OpEq compares) in
// scope: filter.ScopeSpan, filter.ScopeResource, or filter.ScopeAny for
// either. It is false only when the block's value filter proves there is
// none, which it can for keys with many distinct values in the block or
// with values a block summary does not list; for other keys, the
// resource's service.name, scopes other than span and resource, and blocks
// written without a value filter it is true.
func (b *Block) MayContainValue(scope filter.Scope, key string, v model.Value) bool {
	f := &b.index.Values
	if len(f.keys) == 0 {
		return true
	}
	switch scope {
	case filter.ScopeSpan:
		return f.mayContain(valueScopeSpan, key, v)
	case filter.ScopeResource:
		return key == "service.name" || f.mayContain(valueScopeResource, key, v)
	case filter.ScopeAny:
		return key == "service.name" || f.mayContain(valueScopeSpan, key, v) || f.mayContain(valueScopeResource, key, v)
	}
	return true
}

// appendTo appends the value-filter section: the filtered keys sorted by
// scope then key, then the bloom filter.
func (f *valueFilter) appendTo(buf []byte) []byte {
	keys := make([]valueKey, 0, len(f.keys))
	for k := range f.keys {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareValueKeys)
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = append(buf, k.scope, f.keys[k])
		buf = binary.AppendUvarint(buf, uint64(len(k.key)))
		buf = append(buf, k.key...)
	}
	return f.bloom.appendTo(buf)
}

func compareValueKeys(a, b valueKey) int {
	if c := cmp.Compare(a.scope, b.scope); c != 0 {
		return c
	}
	return cmp.Compare(a.key, b.key)
}

// valueFilter decodes the section valueFilter.appendTo writes.
func (r *indexReader) valueFilter() valueFilter {
	n := r.uvarint(uint64(len(r.b) / 3))
	var f valueFilter
	var prev valueKey
	for i := uint64(0); i < n && r.err == nil; i++ {
		sf := r.bytes(2)
		l := r.uvarint(uint64(len(r.b)))
		key := valueKey{key: string(r.bytes(int(l)))}
		if r.err != nil {
			break
		}
		key.scope = sf[0]
		switch {
		case key.scope != valueScopeSpan && key.scope != valueScopeResource:
			r.err = fmt.Errorf("%w: value filter key %d has unknown scope %d", errIndex, i, key.scope)
		case sf[1]&^valueFlagsMask != 0:
			r.err = fmt.Errorf("%w: value filter key %d has unknown flags %#x", errIndex, i, sf[1])
		case i > 0 && compareValueKeys(prev, key) >= 0:
			r.err = fmt.Errorf("%w: value filter keys out of order", errIndex)
		}
		if f.keys == nil {
			f.keys = make(map[valueKey]uint8, n)
		}
		f.keys[key] = sf[1]
		prev = key
	}
	f.bloom = r.bloom()
	if r.err == nil && len(f.keys) > 0 && len(f.bloom.words) == 0 {
		// An empty bloom filter would rule out every value.
		r.err = fmt.Errorf("%w: value filter keys without a filter", errIndex)
	}
	return f
}

// valueCollector builds a block's value filter span by span while the
// block is written. Its zero value is ready to use.
type valueCollector struct {
	span, res map[string]*keyValues
	// lastKeys and lastStates cache the states of the previous span's
	// attribute keys: spans of one kind list the same keys.
	lastKeys   []string
	lastStates []*keyValues
	// resources are those whose attributes were added; holding them
	// keeps their addresses from being reused.
	resources map[*model.Resource]struct{}
	// hashes holds the first probe hash of every value added to a filtered
	// key, deduplicated at the end.
	hashes []uint64
	text   []byte
	// ignored stands for the keys beyond maxValueKeys.
	ignored keyValues
}

// keyValues is the state of one (scope, key) while a block is written.
type keyValues struct {
	hash  uint64 // keyHash
	flags uint8
	// exact lists the distinct value hashes while there are at most
	// valueFilterCap; filtered is set once there are more.
	exact    []uint64
	filtered bool
	// last is the value last added: values repeat within a trace, whose
	// spans are adjacent, and low-cardinality values from span to span.
	last    model.Value
	hasLast bool
	// ignored marks a key beyond maxValueKeys, which is never filtered.
	ignored bool
}

// add records the span and resource attribute values of s.
func (c *valueCollector) add(s *model.Span) {
	if c.span == nil {
		c.span = make(map[string]*keyValues)
		c.res = make(map[string]*keyValues)
		c.resources = make(map[*model.Resource]struct{})
	}
	attrs := s.Attributes
	if !c.sameKeys(attrs) {
		c.lastKeys, c.lastStates = c.lastKeys[:0], c.lastStates[:0]
		for i := range attrs {
			c.lastKeys = append(c.lastKeys, attrs[i].Key)
			c.lastStates = append(c.lastStates, c.state(c.span, valueScopeSpan, attrs[i].Key))
		}
	}
	for i := range attrs {
		c.addValue(c.lastStates[i], attrs[i].Value)
	}
	if s.Resource != nil {
		c.addResource(s.Resource)
	}
}

// addResource records the attributes of r unless they were.
func (c *valueCollector) addResource(r *model.Resource) {
	if _, seen := c.resources[r]; seen {
		return
	}
	if len(c.resources) >= maxSeenResources {
		clear(c.resources)
	}
	c.resources[r] = struct{}{}
	for i := range r.Attributes {
		c.addValue(c.state(c.res, valueScopeResource, r.Attributes[i].Key), r.Attributes[i].Value)
	}
}

// sameKeys reports whether attrs has the keys of the previous span.
func (c *valueCollector) sameKeys(attrs model.Attributes) bool {
	if len(attrs) != len(c.lastKeys) {
		return false
	}
	for i := range attrs {
		if attrs[i].Key != c.lastKeys[i] {
			return false
		}
	}
	return true
}

// state returns the state of key in scope, creating it.
func (c *valueCollector) state(m map[string]*keyValues, scope uint8, key string) *keyValues {
	if k := m[key]; k != nil {
		return k
	}
	if len(m) >= maxValueKeys {
		c.ignored.ignored = true
		return &c.ignored
	}
	k := &keyValues{hash: keyHash(scope, key)}
	m[key] = k
	return k
}

func (c *valueCollector) addValue(k *keyValues, v model.Value) {
	if k.ignored || (k.hasLast && v == k.last) {
		return
	}
	k.last, k.hasLast = v, true
	switch v.Type {
	case model.ValueInt:
		k.flags |= valueHasInt
	case model.ValueDouble:
		k.flags |= valueHasDouble
	}
	var th uint64
	if v.Type == model.ValueString {
		th = xxhash.Sum64String(v.Str)
	} else {
		c.text = appendValueText(c.text[:0], v)
		th = xxhash.Sum64(c.text)
	}
	h := valueHash(k.hash, th)
	if k.filtered {
		c.hashes = append(c.hashes, h)
		return
	}
	if slices.Contains(k.exact, h) {
		return
	}
	if len(k.exact) < valueFilterCap && !unlisted(v) {
		k.exact = append(k.exact, h)
		return
	}
	k.filtered = true
	c.hashes = append(c.hashes, k.exact...)
	c.hashes = append(c.hashes, h)
	k.exact = nil
}

// finish returns the value filter of everything added.
func (c *valueCollector) finish() valueFilter {
	var f valueFilter
	for scope, m := range map[uint8]map[string]*keyValues{valueScopeSpan: c.span, valueScopeResource: c.res} {
		for key, k := range m {
			if k.filtered {
				if f.keys == nil {
					f.keys = make(map[valueKey]uint8)
				}
				f.keys[valueKey{scope, key}] = k.flags
			}
		}
	}
	if len(f.keys) == 0 {
		return valueFilter{}
	}
	hashes := slices.Compact(sortHashes(c.hashes))
	if len(hashes) > maxFilterValues {
		return valueFilter{}
	}
	f.bloom = bloomOfBits(len(hashes) * valueBitsPerValue)
	for _, h := range hashes {
		f.bloom.addHashes(secondHash(h))
	}
	c.hashes = nil
	return f
}

// unlisted reports whether a summary may leave v out of its value list,
// which makes the key filtered whatever its number of values.
func unlisted(v model.Value) bool {
	switch v.Type {
	case model.ValueArray, model.ValueMap, model.ValueBytes:
		return true
	}
	return len(v.Str) > valueFilterLongValue
}

// radixBits is the digit width of sortHashes: 6 passes sort 64-bit keys.
const radixBits = 11

// sortHashes sorts a, in place for short slices; a long one is sorted by
// LSD radix sort, several times faster than a comparison sort there, and
// the sorted slice returned may be a new one.
func sortHashes(a []uint64) []uint64 {
	if len(a) < 1<<12 {
		slices.Sort(a)
		return a
	}
	var count [1 << radixBits]int
	src, dst := a, make([]uint64, len(a))
	for shift := uint(0); shift < 64; shift += radixBits {
		clear(count[:])
		for _, v := range src {
			count[v>>shift&(1<<radixBits-1)]++
		}
		sum := 0
		for i, n := range count {
			count[i] = sum
			sum += n
		}
		for _, v := range src {
			d := v >> shift & (1<<radixBits - 1)
			dst[count[d]] = v
			count[d]++
		}
		src, dst = dst, src
	}
	return src
}
