package enrich

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"waymark/internal/model"
	"waymark/internal/testkit"
)

func str(k, v string) model.Attribute { return model.Attribute{Key: k, Value: model.StringValue(v)} }

func render(attrs model.Attributes) map[string]string {
	m := map[string]string{}
	for _, a := range attrs {
		m[a.Key] = a.Value.AsString()
	}
	return m
}

func TestEnrich(t *testing.T) {
	t.Setenv("WAYMARK_TEST_NODE", "node-7")
	const authHash = "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90"
	tests := []struct {
		name     string
		cfg      Config
		resource model.Attributes
		span     model.Attributes
		wantRes  map[string]string
		wantSpan map[string]string
		wantSvc  string
		same     bool // nothing changes
	}{
		{
			name:     "adds absent resource attributes",
			cfg:      Config{Region: "eu-west-1", Datacenter: "dc1", Node: "${WAYMARK_TEST_NODE}", Cluster: "prod", Attributes: map[string]string{"team": "cart"}},
			resource: model.Attributes{str("service.name", "cart"), str("cloud.region", "us-east-1")},
			wantRes: map[string]string{"service.name": "cart", "cloud.region": "us-east-1", "cloud.availability_zone": "dc1",
				"host.name": "node-7", "k8s.cluster.name": "prod", "team": "cart"},
			wantSvc: "cart",
		},
		{
			name:     "unset environment variable adds nothing",
			cfg:      Config{Node: "${WAYMARK_TEST_UNSET}"},
			resource: model.Attributes{str("service.name", "cart")},
			wantRes:  map[string]string{"service.name": "cart"},
			wantSvc:  "cart",
			same:     true,
		},
		{
			name:     "default deletes authorization header",
			cfg:      DefaultConfig(),
			span:     model.Attributes{str("http.request.header.authorization", "Bearer x"), str("http.route", "/cart")},
			wantSpan: map[string]string{"http.route": "/cart"},
		},
		{
			name:     "hash",
			cfg:      Config{Rules: []Rule{{Action: ActionHash, Key: "enduser.id"}}},
			span:     model.Attributes{str("enduser.id", "alice")},
			wantSpan: map[string]string{"enduser.id": authHash},
		},
		{
			name:     "salted hash",
			cfg:      Config{HashSalt: "pepper", Rules: []Rule{{Action: ActionHash, Key: "enduser.id"}}},
			span:     model.Attributes{str("enduser.id", "alice")},
			wantSpan: map[string]string{"enduser.id": "b1b68da447843a6519d8dd7a9c13c90aa1148805cbe55810f86712e6c294ff36"},
		},
		{
			name: "rename replaces existing target",
			cfg:  Config{Rules: []Rule{{Action: ActionRename, Key: "http.status_code", NewKey: "http.response.status_code"}}},
			span: model.Attributes{{Key: "http.response.status_code", Value: model.IntValue(1)},
				{Key: "http.status_code", Value: model.IntValue(500)}},
			wantSpan: map[string]string{"http.response.status_code": "500"},
		},
		{
			name:     "resource scope renames service name",
			cfg:      Config{Rules: []Rule{{Action: ActionRename, Key: "svc", NewKey: "service.name", Scope: ScopeResource}}},
			resource: model.Attributes{str("svc", "checkout")},
			span:     model.Attributes{str("svc", "kept")},
			wantRes:  map[string]string{"service.name": "checkout"},
			wantSpan: map[string]string{"svc": "kept"},
			wantSvc:  "checkout",
		},
		{
			name:     "span scope leaves resource",
			cfg:      Config{Rules: []Rule{{Action: ActionDelete, Key: "k", Scope: ScopeSpan}}},
			resource: model.Attributes{str("k", "r")},
			span:     model.Attributes{str("k", "s")},
			wantRes:  map[string]string{"k": "r"},
			wantSpan: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := &testkit.Sink{}
			e, err := New(tt.cfg, next, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			orig := &model.Resource{Attributes: tt.resource}
			if v, ok := tt.resource.Get("service.name"); ok {
				orig.ServiceName = v.AsString()
			}
			origAttrs := append(model.Attributes(nil), tt.resource...)
			spans := []model.Span{{Name: "a", Resource: orig, Attributes: tt.span}, {Name: "b", Resource: orig}}
			if err := e.Consume(context.Background(), model.Batch{Spans: spans, OTLP: []byte{1}}); err != nil {
				t.Fatal(err)
			}
			got := next.Batches()[0].Spans
			if got[0].Resource != got[1].Resource {
				t.Error("spans of one resource no longer share it")
			}
			if tt.wantRes != nil && !equal(render(got[0].Resource.Attributes), tt.wantRes) {
				t.Errorf("resource = %v, want %v", render(got[0].Resource.Attributes), tt.wantRes)
			}
			if got[0].Resource.ServiceName != tt.wantSvc {
				t.Errorf("service name = %q, want %q", got[0].Resource.ServiceName, tt.wantSvc)
			}
			if tt.wantSpan != nil && !equal(render(got[0].Attributes), tt.wantSpan) {
				t.Errorf("span = %v, want %v", render(got[0].Attributes), tt.wantSpan)
			}
			if !equal(render(orig.Attributes), render(origAttrs)) {
				t.Error("the shared resource was changed in place")
			}
			if (next.Batches()[0].OTLP != nil) != tt.same {
				t.Errorf("OTLP kept = %v, want %v", next.Batches()[0].OTLP != nil, tt.same)
			}
		})
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestUnchangedBatchKeepsOTLP(t *testing.T) {
	reg := prometheus.NewRegistry()
	next := &testkit.Sink{}
	e, err := New(DefaultConfig(), next, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	res := &model.Resource{ServiceName: "cart"}
	spans := []model.Span{{Resource: res, Attributes: model.Attributes{str("http.route", "/")}}}
	if err := e.Consume(context.Background(), model.Batch{Spans: spans, OTLP: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if next.Batches()[0].OTLP == nil || next.Batches()[0].Spans[0].Resource != res {
		t.Error("an unchanged batch lost its OTLP bytes or resource")
	}
	spans = []model.Span{{Resource: res, Attributes: model.Attributes{str("http.request.header.cookie", "c")}}}
	if err := e.Consume(context.Background(), model.Batch{Spans: spans}); err != nil {
		t.Fatal(err)
	}
	if got := testkit.MetricValue(t, reg, "waymark_enrich_attributes_changed_total", "delete"); got != 1 {
		t.Errorf("deletes = %v, want 1", got)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"default", DefaultConfig(), nil},
		{"zero", Config{}, nil},
		{"bad rules", Config{Attributes: map[string]string{"": "x"}, Rules: []Rule{
			{Action: "upsert", Key: "", Scope: "event"},
			{Action: ActionRename, Key: "a"},
			{Action: ActionDelete, Key: "a", NewKey: "b"},
		}}, []string{"attributes: empty key", "rules[0].key:", "rules[0].action:", "rules[0].scope:", "rules[1].new_key:", "rules[2].new_key:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testkit.WantErrors(t, tt.cfg.Validate(), tt.want...) })
	}
}
