package block

import (
	"math"
	"testing"

	"waymark/internal/store/filter"
)

// FuzzProjection writes spans made from arbitrary keys and values and
// searches them with a projection of fuzzed fields and keys: the light
// spans must be exactly the projection of the whole spans.
func FuzzProjection(f *testing.F) {
	f.Add("http.route", "/api/{id}", int64(200), 1.5, byte(1), "svc", uint16(3), uint16(0x7f))
	f.Add("", "", int64(0), 0.0, byte(0), "", uint16(0), uint16(0))
	f.Add("service.name", "\x00\xff", int64(-1), -2.5e300, byte(5), "", uint16(17), uint16(0x40))
	f.Add("custom", "x", int64(503), 0.1, byte(3), "custom", uint16(200), uint16(0x1ff))
	f.Fuzz(func(t *testing.T, key, str string, i int64, d float64, typ byte, svc string, n, fields uint16) {
		if math.IsNaN(d) {
			return // NaN never equals itself, so spans cannot be compared
		}
		spans, _ := fuzzSpans(key, str, i, d, typ, svc, n)
		ded := []string{"custom"}
		if key == "custom" || isFixedDedicated(key) {
			ded = nil
		}
		b := writeOpen(t, newBucket(t), spans, WriteOptions{RowGroupSpans: int(n % 7), DedicatedAttributes: ded})
		p := filter.Projection{Fields: filter.ProjectedField(fields & 0x7f)}
		if fields&0x80 != 0 {
			p.SpanAttributes = []string{key, "n", str}
		}
		if fields&0x100 != 0 {
			p.ResourceAttributes = []string{key, svc, "service.name"}
		}
		var req filter.Request
		if fields&0x200 != 0 {
			req.StartUnixNano = uint64(i) + 2
		}
		if err := req.Compile(); err != nil {
			t.Fatal(err)
		}
		checkProjection(t, b, req, p)
	})
}
