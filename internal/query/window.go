package query

import (
	"context"
	"time"

	"waymark/internal/model"
	"waymark/internal/store/filter"
)

// firstWindow is the span of the newest search window; each older window
// doubles, so a search over days takes a few dozen steps at most.
const firstWindow = 5 * time.Minute

// searchNewestFirst calls fn for each trace matching req, newest first, each
// trace once, until fn returns false. It searches time windows from the end
// of req's range backwards, so memory is bounded by what one window matches
// and a limited search stops as soon as the newest traces are known.
// req.StartUnixNano and req.EndUnixNano must be set.
func (q *Querier) searchNewestFirst(ctx context.Context, tenant string, req filter.Request, fn func(filter.Match) (bool, error)) error {
	seen := make(map[model.TraceID]struct{})
	end := req.EndUnixNano
	width := uint64(firstWindow)
	for end >= req.StartUnixNano {
		start := req.StartUnixNano
		if end-req.StartUnixNano > width {
			start = end - width + 1
		}
		w := req
		w.StartUnixNano, w.EndUnixNano = start, end
		// Ask the window for req.Limit traces; when it gave that many and the
		// caller still wants more (candidates it rejected, or traces already
		// seen in a newer window), ask the same window again for more.
		for {
			stop, got := false, 0
			var ferr error
			err := q.store.Search(ctx, tenant, w, func(m filter.Match) bool {
				got++
				if _, dup := seen[m.TraceID]; dup {
					return true
				}
				seen[m.TraceID] = struct{}{}
				more, err := fn(m)
				if err != nil {
					ferr = err
				}
				if !more || err != nil {
					stop = true
					return false
				}
				return true
			})
			if err != nil {
				return err
			}
			if ferr != nil {
				return ferr
			}
			if stop {
				return nil
			}
			if w.Limit == 0 || got < w.Limit {
				break
			}
			w.Limit *= 4
		}
		if start == req.StartUnixNano {
			return nil
		}
		end = start - 1
		width *= 2
	}
	return nil
}

// withDefaultRange fills an open time range: end defaults to now, start to
// end − lookback.
func withDefaultRange(req filter.Request, lookback time.Duration) filter.Request {
	if req.EndUnixNano == 0 {
		req.EndUnixNano = uint64(time.Now().Add(time.Minute).UnixNano())
	}
	if req.StartUnixNano == 0 {
		if lb := uint64(lookback); req.EndUnixNano > lb {
			req.StartUnixNano = req.EndUnixNano - lb
		} else {
			req.StartUnixNano = 1
		}
	}
	return req
}
