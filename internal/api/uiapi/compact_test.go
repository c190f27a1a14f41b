package uiapi

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"waymark/internal/model"
)

func TestCompact(t *testing.T) {
	w := newWorkload(time.Unix(1_700_000_000, 0))
	spans := w.request(1) // failing dc-2 request: edge → gateway → app → db
	// Reverse the order: the encoding must not depend on it.
	for i, j := 0, len(spans)-1; i < j; i, j = i+1, j-1 {
		spans[i], spans[j] = spans[j], spans[i]
	}
	orphan := spans[0]
	orphan.SpanID = spanID(1, 9)
	orphan.ParentSpanID = spanID(7, 7)
	orphan.StatusMessage = "boom"
	orphan.Attributes = model.Attributes{
		{Key: "big", Value: model.IntValue(math.MaxInt64)},
		{Key: "small", Value: model.IntValue(-3)},
		{Key: "ratio", Value: model.DoubleValue(0.5)},
		{Key: "inf", Value: model.DoubleValue(math.Inf(1))},
		{Key: "ok", Value: model.BoolValue(true)},
		{Key: "raw", Value: model.Value{Type: model.ValueBytes, Str: "\x00\x01"}},
		{Key: "list", Value: model.Value{Type: model.ValueArray, Str: `[1,2]`}},
	}
	orphan.Events = []model.Event{{TimeUnixNano: orphan.StartTimeUnixNano + 1500, Name: "retry", Attributes: model.Attributes{{Key: "n", Value: model.IntValue(2)}}}, {TimeUnixNano: 1, Name: "skewed"}}
	orphan.Links = []model.Link{{TraceID: traceID(3), SpanID: spanID(3, 0)}}
	orphan.DroppedEventsCount = 4
	spans = append(spans, orphan)

	ct := Compact(spans[0].TraceID, spans)
	cs := ct.Spans
	if ct.TraceID != traceID(1).String() || len(cs.ID) != 5 {
		t.Fatalf("trace %s with %d spans", ct.TraceID, len(cs.ID))
	}
	wantStart := int64(spans[3].StartTimeUnixNano / 1e3)
	if ct.StartUs != wantStart {
		t.Errorf("start = %d, want %d", ct.StartUs, wantStart)
	}
	byID := map[string]int{}
	for i, id := range cs.ID {
		byID[id.String()] = i
	}
	edge, gw, app, db, orph := byID[spanID(1, 0).String()], byID[spanID(1, 1).String()], byID[spanID(1, 2).String()], byID[spanID(1, 3).String()], byID[spanID(1, 9).String()]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"root has no parent", cs.Parent[edge], int32(-1)},
		{"gateway's parent", cs.Parent[gw], int32(edge)},
		{"db's parent", cs.Parent[db], int32(app)},
		{"orphan has no parent index", cs.Parent[orph], int32(-1)},
		{"orphan names its parent", cs.ParentID[orph], spanID(7, 7).String()},
		{"root has no parent id", cs.ParentID[edge], ""},
		{"name interned", ct.Strings[cs.Name[app]], "checkout"},
		{"service via resource", ct.Resources[cs.Resource[db]].Name, "db"},
		{"kind", cs.Kind[db], int32(model.KindClient)},
		{"status", cs.Status[app], int32(model.StatusError)},
		{"start offset", cs.StartUs[app], 2000.0},
		{"duration", cs.DurationUs[app], 60000.0},
		{"status message", cs.StatusMessage[orph], "boom"},
		{"event offset", cs.Events[orph][0].TimeUs, cs.StartUs[orph] + 1.5},
		{"event before the trace is clamped", cs.Events[orph][1].TimeUs, 0.0},
		{"link", cs.Links[orph][0].TraceID, traceID(3).String()},
		{"event attribute key interned", ct.Strings[cs.Events[orph][0].Attributes[0].(int32)], "n"},
		{"resource attribute key interned", ct.Strings[ct.Resources[cs.Resource[db]].Attributes[0].(int32)], "service.name"},
		{"dropped", cs.Dropped[orph].Events, uint32(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	// Attribute values survive JSON in JavaScript-safe forms.
	raw, err := json.Marshal(ct)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Strings []string `json:"strings"`
		Spans   struct {
			IDs       string `json:"ids"`
			AttrCount string `json:"attrCount"`
			Attrs     []any  `json:"attrs"`
		} `json:"spans"`
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	id, err := base64.RawURLEncoding.DecodeString(back.Spans.IDs[11*orph : 11*orph+11])
	if want := spanID(1, 9); err != nil || model.SpanID(id) != want {
		t.Errorf("ids[%d] = %x (%v), want %s", orph, id, err, want)
	}
	from, total := 0, 0
	for i, c := range back.Spans.AttrCount {
		n := int(c - 'A') // counts below 26 are the digits A…Z
		if i < orph {
			from += 2 * n
		}
		total += 2 * n
	}
	if len(back.Spans.AttrCount) != 5 || total != len(back.Spans.Attrs) {
		t.Fatalf("attrCount = %v for %d attribute entries", back.Spans.AttrCount, len(back.Spans.Attrs))
	}
	got := map[string]any{}
	a := back.Spans.Attrs[from : from+2*(int(back.Spans.AttrCount[orph])-'A')]
	for i := 0; i+1 < len(a); i += 2 {
		got[back.Strings[int(a[i].(float64))]] = a[i+1]
	}
	want := map[string]any{"big": "9223372036854775807", "small": -3.0, "ratio": 0.5, "inf": "+Inf", "ok": true, "raw": "AAE=", "list": "[1,2]"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s = %#v, want %#v", k, got[k], v)
		}
	}
}

func TestCompactTraceEndpoint(t *testing.T) {
	h := testHandler(t, memImpl, nil)
	code, resp := get(t, h, "/api/waymark/trace/"+traceID(7).String())
	if code != http.StatusOK {
		t.Fatalf("code %d: %+v", code, resp.Errors)
	}
	ct := decode[struct {
		TraceID string `json:"traceID"`
		Spans   struct {
			IDs string `json:"ids"`
		} `json:"spans"`
	}](t, resp.Data)
	if len(ct.Spans.IDs) != 4*11 || ct.TraceID != traceID(7).String() {
		t.Fatalf("trace = %+v", ct)
	}
	for _, tt := range []struct {
		name, path string
		code       int
	}{
		{"unknown trace", "/api/waymark/trace/" + traceID(9999).String(), http.StatusNotFound},
		{"bad id", "/api/waymark/trace/xyz", http.StatusBadRequest},
		{"zero id", "/api/waymark/trace/0", http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, _ := get(t, h, tt.path); code != tt.code {
				t.Fatalf("code %d, want %d", code, tt.code)
			}
		})
	}
}
