package block

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/parquet-go/parquet-go"

	"waymark/internal/model"
)

// leaf is a leaf column of the block schema.
type leaf struct {
	index  int
	maxDef int
}

// attrLeaves are the leaf columns of one attribute list.
type attrLeaves struct {
	key, typ, str, int, double, bytes leaf
}

// columnSet locates the columns that searches read.
type columnSet struct {
	traceID, start, duration, name, kind, status, statusMessage, service leaf
	// dedicated maps the fixed HTTP keys to their columns; extra holds
	// dedicated_0..9 in slot order.
	dedicated map[string]leaf
	extra     [MaxDedicatedAttributes]leaf
	spanAttrs attrLeaves
	resAttrs  attrLeaves
}

// lookupColumns finds the columns of schema by name.
func lookupColumns(schema *parquet.Schema) (columnSet, error) {
	var (
		cs  columnSet
		err error
	)
	get := func(path ...string) leaf {
		l, ok := schema.Lookup(path...)
		if !ok {
			err = errors.Join(err, fmt.Errorf("missing column %v", path))
		}
		return leaf{index: l.ColumnIndex, maxDef: l.MaxDefinitionLevel}
	}
	attrs := func(name string) attrLeaves {
		return attrLeaves{
			key:    get(name, "list", "element", "key"),
			typ:    get(name, "list", "element", "type"),
			str:    get(name, "list", "element", "str"),
			int:    get(name, "list", "element", "int"),
			double: get(name, "list", "element", "double"),
			bytes:  get(name, "list", "element", "bytes"),
		}
	}
	cs.traceID = get("trace_id")
	cs.start = get("start_time_unix_nano")
	cs.duration = get("duration_nano")
	cs.name = get("name")
	cs.kind = get("kind")
	cs.status = get("status_code")
	cs.statusMessage = get("status_message")
	cs.service = get("service_name")
	cs.dedicated = map[string]leaf{
		keyHTTPRequestMethod:      get("http_request_method"),
		keyHTTPMethod:             get("http_method"),
		keyHTTPRoute:              get("http_route"),
		keyHTTPResponseStatusCode: get("http_response_status_code"),
		keyHTTPStatusCode:         get("http_status_code"),
	}
	for i := range cs.extra {
		cs.extra[i] = get(fmt.Sprintf("dedicated_%d", i))
	}
	cs.spanAttrs = attrs("attributes")
	cs.resAttrs = attrs("resource_attributes")
	return cs, err
}

// interner turns byte slices into strings, allocating once per distinct value.
type interner map[string]string

func (in interner) str(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) >= 1<<16 { // unbounded distinct values: stop remembering them
		return string(b)
	}
	s := string(b)
	in[s] = s
	return s
}

// flatColumn reads rows [from, to) of a column with one value per row.
func flatColumn(ctx context.Context, rg parquet.RowGroup, l leaf, from, to int64, buf []parquet.Value) ([]parquet.Value, error) {
	vals, err := readColumnRows(ctx, rg, l.index, from, to, buf[:0])
	if err != nil {
		return vals, err
	}
	if int64(len(vals)) != to-from {
		return vals, fmt.Errorf("%w: column %d has %d values for %d rows", ErrCorrupt, l.index, len(vals), to-from)
	}
	return vals, nil
}

// attrColumns holds the decoded attribute lists of a row group: row i's
// attributes are attrs[offsets[i]:offsets[i+1]]. Entries whose values live
// in dedicated columns are left out.
type attrColumns struct {
	attrs   []model.Attribute
	offsets []int32
}

// readAttrColumns decodes the attribute list leaves al of rows [from, to) of
// rg, keeping only the attributes whose key is in keys (nil keeps all).
func readAttrColumns(ctx context.Context, rg parquet.RowGroup, al *attrLeaves, from, to int64, keys []string, in interner) (attrColumns, error) {
	var (
		cols [6][]parquet.Value
		err  error
	)
	for i, l := range []leaf{al.key, al.typ, al.str, al.int, al.double, al.bytes} {
		if cols[i], err = readColumnRows(ctx, rg, l.index, from, to, nil); err != nil {
			return attrColumns{}, err
		}
		if len(cols[i]) != len(cols[0]) {
			return attrColumns{}, fmt.Errorf("%w: attribute columns of unequal length", ErrCorrupt)
		}
	}
	names, types, strs, ints, doubles, byts := cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]
	ac := attrColumns{offsets: make([]int32, 0, to-from+1)}
	for j := range names {
		if names[j].RepetitionLevel() == 0 {
			ac.offsets = append(ac.offsets, int32(len(ac.attrs)))
		} else if len(ac.offsets) == 0 {
			return attrColumns{}, fmt.Errorf("%w: attribute list starts mid-row", ErrCorrupt)
		}
		if names[j].DefinitionLevel() != al.key.maxDef {
			continue // empty list
		}
		t := types[j].Int32()
		if t == valueDedicated || !wanted(keys, names[j].ByteArray()) {
			continue
		}
		a := model.Attribute{Key: in.str(names[j].ByteArray())}
		ok := true
		switch vt := model.ValueType(t); {
		case t < 0 || t > int32(model.ValueMap):
			return attrColumns{}, fmt.Errorf("%w: attribute %q has unknown type %d", ErrCorrupt, a.Key, t)
		case vt == model.ValueString || vt == model.ValueArray || vt == model.ValueMap:
			ok = strs[j].DefinitionLevel() == al.str.maxDef
			a.Value = model.Value{Type: vt, Str: in.str(strs[j].ByteArray())}
		case vt == model.ValueInt || vt == model.ValueBool:
			ok = ints[j].DefinitionLevel() == al.int.maxDef
			a.Value = model.Value{Type: vt, Int: ints[j].Int64()}
		case vt == model.ValueDouble:
			ok = doubles[j].DefinitionLevel() == al.double.maxDef
			a.Value = model.Value{Type: vt, Double: doubles[j].Double()}
		case vt == model.ValueBytes:
			ok = byts[j].DefinitionLevel() == al.bytes.maxDef
			a.Value = model.Value{Type: vt, Str: string(byts[j].ByteArray())}
		}
		if !ok {
			return attrColumns{}, fmt.Errorf("%w: %s attribute %q has no value", ErrCorrupt, model.ValueType(t), a.Key)
		}
		ac.attrs = append(ac.attrs, a)
	}
	if int64(len(ac.offsets)) != to-from {
		return attrColumns{}, fmt.Errorf("%w: attribute lists for %d of %d rows", ErrCorrupt, len(ac.offsets), to-from)
	}
	ac.offsets = append(ac.offsets, int32(len(ac.attrs)))
	return ac, nil
}

// wanted reports whether key is listed in keys; nil keys want every key.
func wanted(keys []string, key []byte) bool {
	if keys == nil {
		return true
	}
	for _, k := range keys {
		if k == string(key) {
			return true
		}
	}
	return false
}

// row returns the attributes of row i.
func (ac *attrColumns) row(i int) model.Attributes {
	return ac.attrs[ac.offsets[i]:ac.offsets[i+1]]
}

// readColumnRows returns the values of column col for rows [from, to) of rg.
func readColumnRows(ctx context.Context, rg parquet.RowGroup, col int, from, to int64, buf []parquet.Value) ([]parquet.Value, error) {
	chunks := rg.ColumnChunks()
	if col < 0 || col >= len(chunks) {
		return buf, fmt.Errorf("%w: no column %d", ErrCorrupt, col)
	}
	if n := rg.NumRows(); cap(buf) == 0 && n > 0 {
		// Size the buffer once from the chunk's value count for these rows.
		est := chunks[col].NumValues() * (to - from) / n
		buf = make([]parquet.Value, 0, min(max(est+est/8, to-from), 1<<24))
	}
	pages := chunks[col].Pages()
	defer pages.Close()
	if err := pages.SeekToRow(from); err != nil {
		return buf, fmt.Errorf("%w: column %d: seek to row %d: %w", ErrCorrupt, col, from, err)
	}
	for remaining := to - from; remaining > 0; {
		if err := ctx.Err(); err != nil {
			return buf, err
		}
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return buf, fmt.Errorf("%w: column %d ends before row %d", ErrCorrupt, col, to)
		}
		if err != nil {
			return buf, fmt.Errorf("%w: column %d: %w", ErrCorrupt, col, err)
		}
		rows := p.NumRows()
		if rows <= 0 {
			return buf, fmt.Errorf("%w: column %d: page of %d rows", ErrCorrupt, col, rows)
		}
		if rows > remaining {
			p, rows = p.Slice(0, remaining), remaining
		}
		remaining -= rows
		if buf, err = appendPageValues(buf, p); err != nil {
			return buf, fmt.Errorf("%w: column %d: %w", ErrCorrupt, col, err)
		}
	}
	return buf, nil
}

// appendPageValues appends every value of p to buf.
func appendPageValues(buf []parquet.Value, p parquet.Page) ([]parquet.Value, error) {
	n := int(p.NumValues())
	if n < 0 || n > math.MaxInt32 {
		return buf, fmt.Errorf("page of %d values", n)
	}
	start := len(buf)
	buf = slices.Grow(buf, n)[:start+n]
	vr := p.Values()
	got := 0
	for got < n {
		k, err := vr.ReadValues(buf[start+got:])
		got += k
		if errors.Is(err, io.EOF) || (err == nil && k == 0) {
			break
		}
		if err != nil {
			return buf[:start+got], err
		}
	}
	return buf[:start+got], nil
}
