package zipkinapi

import "waymark/internal/api/apitest"

// Short names for the shared fixture.
const (
	t0     = apitest.T0
	us     = apitest.US
	ms     = apitest.MS
	traceA = apitest.TraceA
	traceB = apitest.TraceB
)

var (
	fixture     = apitest.Fixture
	mustSpanID  = apitest.MustSpanID
	mustTraceID = apitest.MustTraceID
)
