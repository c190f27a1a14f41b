package receivetest

import (
	"fmt"

	"waymark/internal/model"
)

// Render prints each span, with its resource and scope, as one line, so
// that spans compare as text: NaN equals NaN, and nil and empty lists look
// alike.
func Render(spans []model.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		res, sc := s.Resource, s.Scope
		s.Resource, s.Scope = nil, nil
		var r model.Resource
		if res != nil {
			r = *res
		}
		var c model.Scope
		if sc != nil {
			c = *sc
		}
		out[i] = fmt.Sprintf("%+v resource=%+v scope=%+v", s, r, c)
	}
	return out
}

// Diff describes the first difference between want and got, or returns ""
// when they render alike.
func Diff(want, got []model.Span) string {
	w, g := Render(want), Render(got)
	if len(w) != len(g) {
		return fmt.Sprintf("got %d spans, want %d", len(g), len(w))
	}
	for i := range w {
		if w[i] != g[i] {
			return fmt.Sprintf("span %d:\n got  %s\n want %s", i, g[i], w[i])
		}
	}
	return ""
}
