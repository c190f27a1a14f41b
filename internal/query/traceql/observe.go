package traceql

import "waymark/internal/model"

// Observe runs the search part of q over the spans of one trace, exactly as
// Eval does, and calls fn once for every distinct span in the spansets it
// returns, in trace order. A span that several spansets hold is observed
// once. It is how metrics queries aggregate matched spans without building
// Eval's result.
//
// values holds one entry per field in fields: the field's value on the
// span (the first value of a field with several, such as the unscoped
// ".name" or an event attribute), or a Static of TypeNil when the span has
// none. Trace-level intrinsics see the whole trace. values and the span are
// valid only during the call: fn must copy what it keeps. All spans must
// belong to one trace.
func (q *Query) Observe(trace []model.Span, fields []*Field, fn func(span *model.Span, values []Static)) error {
	return q.run(trace, func(e *evaluator, sets []spanset) {
		if len(sets) == 1 {
			for _, i := range sets[0].idx {
				fn(&e.trace[i], e.fieldValues(fields, i))
			}
			return
		}
		e.marks = append(e.marks[:0], make([]bool, len(e.trace))...)
		for _, ss := range sets {
			for _, i := range ss.idx {
				e.marks[i] = true
			}
		}
		for i, m := range e.marks {
			if m {
				fn(&e.trace[i], e.fieldValues(fields, int32(i)))
			}
		}
	})
}

// fieldValues returns the first value of each field on span i, reusing
// the evaluator's buffer.
func (e *evaluator) fieldValues(fields []*Field, i int32) []Static {
	e.values = e.values[:0]
	for _, f := range fields {
		mark := len(e.scratch)
		e.field(f, i)
		v := Static{}
		if len(e.scratch) > mark {
			v = e.scratch[mark]
		}
		e.scratch = e.scratch[:mark]
		e.values = append(e.values, v)
	}
	return e.values
}
