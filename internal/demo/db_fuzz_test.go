package demo

import (
	"errors"
	"slices"
	"testing"
)

func FuzzDecodeQuery(f *testing.F) {
	for _, s := range []string{
		`{"statement":"SELECT qty FROM stock WHERE sku = $1","args":["sku-1"]}`,
		`{"statement":"INSERT INTO orders (id, sku, qty, amount_cents) VALUES ($1, $2, $3, $4)","args":["a","b","1","100"]}`,
		`{"statement":"UPDATE stock SET qty = qty - $2 WHERE sku = $1","args":["sku-1","2"]}`,
		`{"statement":"DELETE FROM payments"}`,
		`{"statement":"SELECT 1"}`,
		`{"statement":"SELECT qty FROM stock WHERE sku = $9","args":[]}`,
		`not json`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		q, st, err := decodeQuery(body)
		if err != nil {
			if !errors.Is(err, errBadQuery) {
				t.Fatalf("decodeQuery error %v does not wrap errBadQuery", err)
			}
			return
		}
		if !slices.Contains([]string{"SELECT", "INSERT", "UPDATE", "DELETE"}, st.op) || st.table == "" {
			t.Fatalf("decodeQuery(%q) = %+v", body, st)
		}
		if n := maxPlaceholder(q.Statement); n > len(q.Args) {
			t.Fatalf("accepted $%d with %d args", n, len(q.Args))
		}
		again, err := parseStatement(q.Statement)
		if err != nil || again != st {
			t.Fatalf("parseStatement(%q) = %+v, %v; decodeQuery gave %+v", q.Statement, again, err, st)
		}
	})
}
