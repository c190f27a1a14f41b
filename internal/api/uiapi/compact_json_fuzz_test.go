package uiapi

import (
	"encoding/json"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"waymark/internal/model"
)

// FuzzCompactAppendJSON checks that any names and attribute values give
// valid JSON that decodes to what was encoded.
func FuzzCompactAppendJSON(f *testing.F) {
	f.Add("GET /cart", "http.route", "/cart", int64(200), 0.5)
	f.Add("\"\\\x00\u2028", "k\xff", "<script>", int64(-1<<63), -0.0)
	f.Fuzz(func(t *testing.T, name, key, value string, n int64, x float64) {
		w := newWorkload(time.Unix(1_700_000_000, 0))
		spans := w.request(1)
		spans[0].Name = name
		spans[1].StatusMessage = value
		spans[2].Attributes = model.Attributes{
			{Key: key, Value: model.StringValue(value)},
			{Key: name, Value: model.IntValue(n)},
			{Key: value, Value: model.DoubleValue(x)},
		}
		spans[3].Events = []model.Event{{Name: value, Attributes: spans[2].Attributes}}
		ct := Compact(spans[0].TraceID, spans)
		raw := ct.AppendJSON(nil)
		var back struct {
			Strings []string `json:"strings"`
			Spans   struct {
				IDs   string `json:"ids"`
				Attrs []any  `json:"attrs"`
			} `json:"spans"`
		}
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("invalid JSON: %v\n%s", err, raw)
		}
		if len(back.Strings) != len(ct.Strings) || len(back.Spans.IDs) != 11*len(spans) || len(back.Spans.Attrs) != len(ct.Spans.Attrs) {
			t.Fatalf("decoded %d strings, %d id digits, %d attribute entries", len(back.Strings), len(back.Spans.IDs), len(back.Spans.Attrs))
		}
		for i, s := range ct.Strings {
			// Invalid UTF-8 is sent as U+FFFD; anything else as it is.
			if utf8.ValidString(s) && back.Strings[i] != s {
				t.Fatalf("string %d = %q, want %q", i, back.Strings[i], s)
			}
		}
	})
}

// FuzzAppendMicros checks that every time is written as a JSON number that
// reads back as the same float64.
func FuzzAppendMicros(f *testing.F) {
	for _, seed := range []float64{0, 2000, 1234.567, 0.0001, 86400000000.001, -3, 1e22} {
		f.Add(seed)
	}
	f.Add(float64(1<<53) / 1e3)
	f.Fuzz(func(t *testing.T, us float64) {
		if math.IsNaN(us) || math.IsInf(us, 0) {
			return // Compact never makes them; jsonenc writes them as strings
		}
		got := appendMicros(nil, us)
		var back float64
		if err := json.Unmarshal(got, &back); err != nil || back != us {
			t.Fatalf("%s reads back as %v (%v), want %v", got, back, err, us)
		}
	})
}
