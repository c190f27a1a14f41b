package traceql_test

import (
	"fmt"

	"waymark/internal/model"
	"waymark/internal/query/traceql"
)

func Example() {
	q, err := traceql.Parse(`{resource.service.name="cart" && status=error} | select(span.db.system)`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q)

	cart := &model.Resource{ServiceName: "cart"}
	trace := []model.Span{
		{TraceID: model.TraceID{1}, SpanID: model.SpanID{1}, Name: "GET /cart", Resource: cart},
		{TraceID: model.TraceID{1}, SpanID: model.SpanID{2}, ParentSpanID: model.SpanID{1}, Name: "SELECT", Resource: cart,
			StatusCode: model.StatusError, Attributes: model.Attributes{{Key: "db.system", Value: model.StringValue("postgresql")}}},
	}
	spansets, err := q.Eval(trace)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ss := range spansets {
		for _, m := range ss.Spans {
			fmt.Println(m.Span.Name, m.Attributes)
		}
	}

	_, err = traceql.Parse(`{ span.http.status_code = }`)
	fmt.Println(err)
	// Output:
	// { resource.service.name = "cart" && span:status = error } | select(span.db.system)
	// SELECT [{resource.service.name {string cart 0 0}} {span:status {string error 0 0}} {span.db.system {string postgresql 0 0}}]
	// unexpected '}' at 1:27, expected a value
}
