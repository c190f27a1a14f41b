package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// requestIDKey carries the request's x-request-id through an app's context.
type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// app is one application service (checkout, inventory or payments). Its
// routes do a little work, call other apps through their sidecars and query
// orders-db; a share of requests may be slowed by the injected fault.
type app struct {
	in       *instance
	db       *dbClient
	slow     time.Duration
	slowRate float64
	// sidecars maps an app name to the base URL of the sidecar in front of it.
	sidecars map[string]string
}

// appRoute is one route an app serves; its sidecar exposes the same pattern.
type appRoute struct {
	pattern string
	handle  func(a *app, w http.ResponseWriter, r *http.Request)
}

// appRoutes returns the routes of the app named name.
func appRoutes(name string) []appRoute {
	switch name {
	case ServiceCheckout:
		return []appRoute{{"POST /checkout", (*app).checkout}}
	case ServiceInventory:
		return []appRoute{{"GET /stock/{sku}", (*app).stock}}
	case ServicePayments:
		return []appRoute{{"POST /charge", (*app).charge}}
	}
	return nil
}

func newApp(in *instance, db *dbClient, sidecars map[string]string, f *Faults) *app {
	slow, rate := f.slowIn(in.dc, in.service)
	return &app{in: in, db: db, slow: slow, slowRate: rate, sidecars: sidecars}
}

// handler serves the app's routes, instrumented.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range appRoutes(a.in.service) {
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			span := trace.SpanFromContext(r.Context())
			span.SetAttributes(attribute.String("http.route", routeOf(r)))
			id := r.Header.Get(headerRequestID)
			if id != "" {
				span.SetAttributes(attribute.String(AttrRequestID, id))
			}
			rt.handle(a, w, r.WithContext(withRequestID(r.Context(), id)))
		})
	}
	return a.in.instrument(mux)
}

// work simulates the request's own processing time, plus the injected
// slowness for a share of requests.
func (a *app) work(ctx context.Context, lo, hi time.Duration) error {
	d := a.in.dice.between(lo, hi)
	if a.in.dice.chance(a.slowRate) {
		trace.SpanFromContext(ctx).AddEvent("cache miss: recomputing", trace.WithAttributes(attribute.Int64("added_ms", a.slow.Milliseconds())))
		d += a.slow
	}
	return sleep(ctx, d)
}

// callApp calls another app through its sidecar and returns the answer body.
// A 5xx answer or a transport error is returned as an error.
func (a *app) callApp(ctx context.Context, target, method, path string, query url.Values) ([]byte, error) {
	u := a.sidecars[target] + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	resp, err := a.in.caller.do(ctx, &call{
		method:   method,
		url:      u,
		header:   http.Header{headerRequestID: {requestIDFrom(ctx)}},
		spanName: method + " " + target,
		attrs:    []attribute.KeyValue{attribute.String("peer.service", target)},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", target, err)
	}
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("%s answered %s", target, resp.Status)
	}
	return body, nil
}

// fail records err on the server span and answers with status.
func fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	trace.SpanFromContext(r.Context()).RecordError(err)
	http.Error(w, err.Error(), status)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// checkout handles POST /checkout?sku=…&qty=…: it checks stock with
// inventory, charges through payments and records the order in orders-db.
func (a *app) checkout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sku := r.URL.Query().Get("sku")
	qty, err := strconv.Atoi(r.URL.Query().Get("qty"))
	if sku == "" || err != nil || qty < 1 {
		fail(w, r, http.StatusBadRequest, errors.New("want sku and a positive qty"))
		return
	}
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(attribute.String("shop.sku", sku), attribute.Int("shop.quantity", qty))
	if err := a.work(ctx, time.Millisecond, 4*time.Millisecond); err != nil {
		return
	}
	if _, err := a.callApp(ctx, ServiceInventory, http.MethodGet, "/stock/"+url.PathEscape(sku), nil); err != nil {
		fail(w, r, http.StatusBadGateway, fmt.Errorf("check stock: %w", err))
		return
	}
	amount := strconv.Itoa(qty * (100 + a.in.dice.intN(900)))
	if _, err := a.callApp(ctx, ServicePayments, http.MethodPost, "/charge", url.Values{"amount_cents": {amount}}); err != nil {
		fail(w, r, http.StatusBadGateway, fmt.Errorf("charge: %w", err))
		return
	}
	orderID := uuid.NewString()
	if _, err := a.db.query(ctx, "INSERT INTO orders (id, sku, qty, amount_cents) VALUES ($1, $2, $3, $4)", orderID, sku, strconv.Itoa(qty), amount); err != nil {
		fail(w, r, http.StatusInternalServerError, fmt.Errorf("record order: %w", err))
		return
	}
	if _, err := a.db.query(ctx, "UPDATE stock SET qty = qty - $2 WHERE sku = $1", sku, strconv.Itoa(qty)); err != nil {
		fail(w, r, http.StatusInternalServerError, fmt.Errorf("update stock: %w", err))
		return
	}
	span.SetAttributes(attribute.String("shop.order_id", orderID))
	writeJSON(w, map[string]string{"order_id": orderID})
}

// stock handles GET /stock/{sku}.
func (a *app) stock(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sku := r.PathValue("sku")
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("shop.sku", sku))
	if err := a.work(ctx, 500*time.Microsecond, 2*time.Millisecond); err != nil {
		return
	}
	res, err := a.db.query(ctx, "SELECT qty FROM stock WHERE sku = $1", sku)
	if err != nil {
		fail(w, r, http.StatusInternalServerError, fmt.Errorf("read stock: %w", err))
		return
	}
	writeJSON(w, map[string]any{"sku": sku, "qty": res.Value})
}

// charge handles POST /charge?amount_cents=….
func (a *app) charge(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	amount, err := strconv.Atoi(r.URL.Query().Get("amount_cents"))
	if err != nil || amount < 1 {
		fail(w, r, http.StatusBadRequest, errors.New("want a positive amount_cents"))
		return
	}
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("shop.amount_cents", amount))
	if err := a.work(ctx, 3*time.Millisecond, 12*time.Millisecond); err != nil {
		return
	}
	paymentID := uuid.NewString()
	if _, err := a.db.query(ctx, "INSERT INTO payments (id, amount_cents) VALUES ($1, $2)", paymentID, strconv.Itoa(amount)); err != nil {
		fail(w, r, http.StatusInternalServerError, fmt.Errorf("record payment: %w", err))
		return
	}
	writeJSON(w, map[string]string{"payment_id": paymentID})
}
