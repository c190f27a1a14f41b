package otlp

// countSpans returns how many spans the request b holds, by walking the
// three levels of messages above the spans without decoding them. It is
// only a size hint: on malformed input it returns what it counted so far.
func countSpans(b []byte) int {
	n := 0
	forEachBytes(b, fieldRequestResourceSpans, fieldRequestResourceSpans, func(rs []byte) {
		forEachBytes(rs, fieldResourceSpansScopeSpans, fieldResourceSpansDeprecatedScope, func(ss []byte) {
			forEachBytes(ss, fieldScopeSpansSpans, fieldScopeSpansSpans, func([]byte) { n++ })
		})
	})
	return n
}

// forEachBytes calls fn with the content of every length-delimited field of
// message b numbered f1 or f2, and stops at the first malformed field.
func forEachBytes(b []byte, f1, f2 int32, fn func([]byte)) {
	r := reader{b: b}
	for r.next() {
		if (r.num == f1 || r.num == f2) && r.wt == wireBytes {
			if sub := r.readBytes(); r.err == nil {
				fn(sub)
			}
		} else {
			r.skip()
		}
	}
}
