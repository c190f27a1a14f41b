package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Database span attributes, after the OpenTelemetry database conventions.
const (
	AttrDBSystem     = "db.system.name"
	AttrDBQueryText  = "db.query.text"
	AttrDBNamespace  = "db.namespace"
	AttrDBOperation  = "db.operation.name"
	AttrDBCollection = "db.collection.name"
)

const (
	dbSystem    = "postgresql"
	dbNamespace = "orders"
	// maxQueryBytes bounds a query request body.
	maxQueryBytes = 64 << 10
	// initialStock is the quantity of a SKU never seen before.
	initialStock = 1000
)

// query is the body of a request to orders-db: a statement with positional
// parameters $1, $2, … given as strings.
type query struct {
	Statement string   `json:"statement"`
	Args      []string `json:"args"`
}

// queryResult is orders-db's answer.
type queryResult struct {
	RowsAffected int   `json:"rows_affected"`
	Value        int64 `json:"value,omitempty"`
}

// statement is a parsed query statement: its operation and table.
type statement struct {
	op    string // SELECT, INSERT, UPDATE or DELETE
	table string
}

// summary is the db.query.summary-style span name, "SELECT stock".
func (s statement) summary() string { return s.op + " " + s.table }

// errBadQuery wraps every decoding and parsing error of a query.
var errBadQuery = errors.New("bad query")

// decodeQuery decodes and checks a query request body.
func decodeQuery(body []byte) (query, statement, error) {
	var q query
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return q, statement{}, fmt.Errorf("%w: %w", errBadQuery, err)
	}
	if dec.More() {
		return q, statement{}, fmt.Errorf("%w: data after the JSON object", errBadQuery)
	}
	st, err := parseStatement(q.Statement)
	if err != nil {
		return q, statement{}, err
	}
	if n := maxPlaceholder(q.Statement); n > len(q.Args) {
		return q, statement{}, fmt.Errorf("%w: statement uses $%d but %d args are given", errBadQuery, n, len(q.Args))
	}
	return q, st, nil
}

// parseStatement finds the operation and table of a SELECT … FROM t,
// INSERT INTO t, UPDATE t or DELETE FROM t statement.
func parseStatement(s string) (statement, error) {
	words := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '(' || r == ')' || r == ',' || r == ';'
	})
	if len(words) == 0 {
		return statement{}, fmt.Errorf("%w: empty statement", errBadQuery)
	}
	op := strings.ToUpper(words[0])
	var tableAfter string
	switch op {
	case "SELECT", "DELETE":
		tableAfter = "FROM"
	case "INSERT":
		tableAfter = "INTO"
	case "UPDATE":
		if len(words) < 2 {
			return statement{}, fmt.Errorf("%w: UPDATE without a table", errBadQuery)
		}
		return checkTable(op, words[1])
	default:
		return statement{}, fmt.Errorf("%w: unsupported operation %q", errBadQuery, truncate(words[0], 32))
	}
	for i := 1; i+1 < len(words); i++ {
		if strings.EqualFold(words[i], tableAfter) {
			return checkTable(op, words[i+1])
		}
	}
	return statement{}, fmt.Errorf("%w: %s without %s <table>", errBadQuery, op, tableAfter)
}

func checkTable(op, table string) (statement, error) {
	for i := 0; i < len(table); i++ {
		c := table[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return statement{}, fmt.Errorf("%w: %q is not a table name", errBadQuery, truncate(table, 32))
		}
	}
	return statement{op: op, table: strings.ToLower(table)}, nil
}

// maxPlaceholder returns the highest $n in s (0 if none).
func maxPlaceholder(s string) int {
	max := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' && j-i <= 4 {
			j++
		}
		if n, err := strconv.Atoi(s[i+1 : j]); err == nil && n > max {
			max = n
		}
		i = j - 1
	}
	return max
}

// ordersDB is the database-like service: it keeps stock per SKU and counts
// the rows written to other tables, and answers each query after a short,
// random service time (plus the injected slowness, if configured).
type ordersDB struct {
	in             *instance
	slow           time.Duration
	slowRate       float64
	mu             sync.Mutex
	stock          map[string]int64
	rowsPerTable   map[string]int64
	maxTrackedSKUs int
}

func newOrdersDB(in *instance, f *Faults) *ordersDB {
	slow, rate := f.slowIn(in.dc, in.service)
	return &ordersDB{in: in, slow: slow, slowRate: rate, stock: make(map[string]int64), rowsPerTable: make(map[string]int64), maxTrackedSKUs: 10_000}
}

// ServeHTTP answers POST /query. It is not wrapped in HTTP instrumentation:
// it starts a database server span itself, as a database's own tracing would.
func (db *ordersDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/query" {
		http.Error(w, "only POST /query", http.StatusNotFound)
		return
	}
	ctx := propagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQueryBytes+1))
	if err == nil && len(body) > maxQueryBytes {
		err = fmt.Errorf("%w: body over %d bytes", errBadQuery, maxQueryBytes)
	}
	var q query
	var st statement
	if err == nil {
		q, st, err = decodeQuery(body)
	}
	name := "query"
	if err == nil {
		name = st.summary()
	}
	ctx, span := db.in.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String(AttrDBSystem, dbSystem),
		attribute.String(AttrDBNamespace, dbNamespace),
		attribute.String(AttrDBQueryText, truncate(q.Statement, 1024)),
	))
	defer span.End()
	if id := r.Header.Get(headerRequestID); id != "" {
		span.SetAttributes(attribute.String(AttrRequestID, id))
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(attribute.String("error.type", "bad_query"))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	span.SetAttributes(attribute.String(AttrDBOperation, st.op), attribute.String(AttrDBCollection, st.table))
	work := db.in.dice.between(500*time.Microsecond, 4*time.Millisecond)
	if db.in.dice.chance(db.slowRate) {
		span.AddEvent("lock wait", trace.WithAttributes(attribute.Int64("wait_ms", db.slow.Milliseconds())))
		work += db.slow
	}
	if err := sleep(ctx, work); err != nil {
		span.SetStatus(codes.Error, "query canceled")
		return
	}
	res := db.exec(st, q.Args)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// exec applies a parsed statement. SELECT and UPDATE on stock read and
// change the quantity of SKU $1 (UPDATE subtracts $2); anything else counts a
// row in its table.
func (db *ordersDB) exec(st statement, args []string) queryResult {
	db.mu.Lock()
	defer db.mu.Unlock()
	if st.table == "stock" && len(args) > 0 && (st.op == "SELECT" || st.op == "UPDATE") {
		sku := args[0]
		qty, ok := db.stock[sku]
		if !ok {
			if len(db.stock) >= db.maxTrackedSKUs {
				return queryResult{RowsAffected: 0}
			}
			qty = initialStock
		}
		if st.op == "UPDATE" && len(args) > 1 {
			n, _ := strconv.ParseInt(args[1], 10, 64)
			qty -= n
			if qty < 0 {
				qty = initialStock // restocked
			}
		}
		db.stock[sku] = qty
		return queryResult{RowsAffected: 1, Value: qty}
	}
	db.rowsPerTable[st.table]++
	return queryResult{RowsAffected: 1}
}

// dbClient is an app's connection to orders-db. It starts a database client
// span per query (not an HTTP span: the transport is a detail of the demo)
// and propagates the trace context to the database.
type dbClient struct {
	in   *instance
	url  string
	addr string
}

// query runs stmt with args and returns the result.
func (c *dbClient) query(ctx context.Context, stmt string, args ...string) (queryResult, error) {
	st, err := parseStatement(stmt)
	if err != nil {
		return queryResult{}, err
	}
	ctx, span := c.in.tracer.Start(ctx, st.summary(), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String(AttrDBSystem, dbSystem),
		attribute.String(AttrDBNamespace, dbNamespace),
		attribute.String(AttrDBQueryText, stmt),
		attribute.String(AttrDBOperation, st.op),
		attribute.String(AttrDBCollection, st.table),
		attribute.String("server.address", ServiceOrdersDB),
		attribute.String("peer.service", ServiceOrdersDB),
	))
	defer span.End()
	res, err := c.roundTrip(ctx, query{Statement: stmt, Args: args})
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return res, err
}

func (c *dbClient) roundTrip(ctx context.Context, q query) (queryResult, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return queryResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/query", bytes.NewReader(body))
	if err != nil {
		return queryResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	propagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	if id := requestIDFrom(ctx); id != "" {
		req.Header.Set(headerRequestID, id)
	}
	resp, err := c.in.caller.transport.RoundTrip(req)
	if err != nil {
		return queryResult{}, fmt.Errorf("orders-db: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxQueryBytes))
	if err != nil {
		return queryResult{}, fmt.Errorf("orders-db: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return queryResult{}, fmt.Errorf("orders-db: %s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	var res queryResult
	if err := json.Unmarshal(data, &res); err != nil {
		return queryResult{}, fmt.Errorf("orders-db: decode answer: %w", err)
	}
	return res, nil
}
