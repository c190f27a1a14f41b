package demo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"waymark/internal/model"
)

func TestParseStatement(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    statement
		wantErr bool
	}{
		{"select", "SELECT qty FROM stock WHERE sku = $1", statement{"SELECT", "stock"}, false},
		{"lowercase select", "select qty from Stock where sku = $1", statement{"SELECT", "stock"}, false},
		{"insert with columns", "INSERT INTO orders (id, sku) VALUES ($1, $2)", statement{"INSERT", "orders"}, false},
		{"insert without space before columns", "INSERT INTO orders(id) VALUES ($1)", statement{"INSERT", "orders"}, false},
		{"update", "UPDATE stock SET qty = qty - $2 WHERE sku = $1", statement{"UPDATE", "stock"}, false},
		{"delete", "DELETE FROM payments WHERE id = $1;", statement{"DELETE", "payments"}, false},
		{"multi-line", "SELECT\n  qty\nFROM\n  stock_v2", statement{"SELECT", "stock_v2"}, false},
		{"empty", "", statement{}, true},
		{"only spaces", " \t\n", statement{}, true},
		{"unknown operation", "DROP TABLE stock", statement{}, true},
		{"select without from", "SELECT 1", statement{}, true},
		{"from at the end", "SELECT qty FROM", statement{}, true},
		{"update without table", "UPDATE", statement{}, true},
		{"bad table name", "SELECT * FROM 'stock'", statement{}, true},
		{"table name starting with a digit", "SELECT * FROM 9lives", statement{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatement(tc.in)
			checkStatement(t, got, err, tc.want, tc.wantErr)
		})
	}
}

// checkStatement compares a parse result with the expected statement or,
// when wantErr is set, expects an errBadQuery.
func checkStatement(t *testing.T, got statement, err error, want statement, wantErr bool) {
	t.Helper()
	if wantErr {
		if !errors.Is(err, errBadQuery) {
			t.Fatalf("got %+v, %v; want an errBadQuery", got, err)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
}

func TestDecodeQuery(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    statement
		wantErr bool
	}{
		{"select", `{"statement":"SELECT qty FROM stock WHERE sku = $1","args":["sku-1"]}`, statement{"SELECT", "stock"}, false},
		{"no placeholders, no args", `{"statement":"DELETE FROM orders"}`, statement{"DELETE", "orders"}, false},
		{"missing arg", `{"statement":"SELECT qty FROM stock WHERE sku = $2","args":["a"]}`, statement{}, true},
		{"unknown field", `{"statement":"SELECT qty FROM stock","limit":1}`, statement{}, true},
		{"trailing object", `{"statement":"SELECT qty FROM stock"}{}`, statement{}, true},
		{"not JSON", `SELECT qty FROM stock`, statement{}, true},
		{"args not strings", `{"statement":"SELECT qty FROM stock WHERE a = $1","args":[1]}`, statement{}, true},
		{"empty body", ``, statement{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got, err := decodeQuery([]byte(tc.body))
			checkStatement(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestMaxPlaceholder(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"none", "SELECT 1", 0},
		{"one", "WHERE a = $1", 1},
		{"unordered", "VALUES ($3, $1, $12)", 12},
		{"bare dollar", "WHERE a = '$'", 0},
		{"dollar at end", "WHERE a = $", 0},
		{"very long number is cut", "$123456789", 1234},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxPlaceholder(tc.in); got != tc.want {
				t.Errorf("maxPlaceholder(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestOrdersDBExec(t *testing.T) {
	db := &ordersDB{stock: make(map[string]int64), rowsPerTable: make(map[string]int64), maxTrackedSKUs: 2}
	steps := []struct {
		name string
		st   statement
		args []string
		want queryResult
	}{
		{"new SKU starts with initial stock", statement{"SELECT", "stock"}, []string{"a"}, queryResult{1, initialStock}},
		{"update subtracts", statement{"UPDATE", "stock"}, []string{"a", "10"}, queryResult{1, initialStock - 10}},
		{"select sees the update", statement{"SELECT", "stock"}, []string{"a"}, queryResult{1, initialStock - 10}},
		{"sold out restocks", statement{"UPDATE", "stock"}, []string{"a", "5000"}, queryResult{1, initialStock}},
		{"second SKU", statement{"SELECT", "stock"}, []string{"b"}, queryResult{1, initialStock}},
		{"beyond the SKU bound nothing is kept", statement{"SELECT", "stock"}, []string{"c"}, queryResult{0, 0}},
		{"insert counts a row", statement{"INSERT", "orders"}, []string{"x"}, queryResult{1, 0}},
	}
	for _, s := range steps {
		if got := db.exec(s.st, s.args); got != s.want {
			t.Errorf("%s: got %+v, want %+v", s.name, got, s.want)
		}
	}
	if db.rowsPerTable["orders"] != 1 || len(db.stock) != 2 {
		t.Errorf("rows %v, stock %v", db.rowsPerTable, db.stock)
	}
}

// TestOrdersDBServer sends queries to a running orders-db and checks its
// answers and the database spans it records.
func TestOrdersDBServer(t *testing.T) {
	col := startCollector(t)
	otlp, err := newOTLPExporter(context.Background(), col.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	exp := &sharedExporter{next: otlp, log: testLogger(t)}
	cfg := DefaultConfig()
	in, err := newInstance(exp, &cfg, ServiceOrdersDB, "orders-db-dc-1", "dc-1", 0, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	in.serve(&wg, testLogger(t), newOrdersDB(in, &Faults{}))
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantSpan   string // name of the span recorded; empty for none
	}{
		{"select", http.MethodPost, "/query", `{"statement":"SELECT qty FROM stock WHERE sku = $1","args":["sku-1"]}`, http.StatusOK, "SELECT stock"},
		{"bad statement", http.MethodPost, "/query", `{"statement":"DROP TABLE stock"}`, http.StatusBadRequest, "query"},
		{"not JSON", http.MethodPost, "/query", `{`, http.StatusBadRequest, "query"},
		{"body too large", http.MethodPost, "/query", `{"statement":"` + strings.Repeat("x", maxQueryBytes) + `"}`, http.StatusBadRequest, "query"},
		{"wrong path", http.MethodPost, "/exec", `{}`, http.StatusNotFound, ""},
		{"wrong method", http.MethodGet, "/query", ``, http.StatusNotFound, ""},
	}
	var wantSpans []string
	for _, tc := range tests {
		if tc.wantSpan != "" {
			wantSpans = append(wantSpans, tc.wantSpan)
		}
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, in.url+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
		})
	}
	if err := in.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := in.tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = otlp.Shutdown(context.Background())
	var names []string
	for _, spans := range col.traces() {
		for i := range spans {
			s := &spans[i]
			names = append(names, s.Name)
			if s.Kind != model.KindServer || spanAttr(s, AttrDBSystem) != dbSystem {
				t.Errorf("span %s: kind %s, %s %q", s.Name, s.Kind, AttrDBSystem, spanAttr(s, AttrDBSystem))
			}
			if (s.Name == "query") != (s.StatusCode == model.StatusError) {
				t.Errorf("span %s has status %s", s.Name, s.StatusCode)
			}
		}
	}
	slices.Sort(names)
	slices.Sort(wantSpans)
	if !slices.Equal(names, wantSpans) {
		t.Errorf("spans %v, want %v", names, wantSpans)
	}
}
