package receive

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"google.golang.org/grpc/metadata"

	"waymark/internal/model"
)

func TestTenant(t *testing.T) {
	cases := []struct {
		name    string
		header  map[string]string
		def     string
		want    string
		invalid bool
	}{
		{name: "none", want: model.DefaultTenant},
		{name: "listener default", def: "edge", want: "edge"},
		{name: "header", header: map[string]string{"X-Scope-OrgID": "acme"}, def: "edge", want: "acme"},
		{name: "alias", header: map[string]string{"X-Tenant": "acme"}, want: "acme"},
		{name: "header wins over alias", header: map[string]string{"X-Scope-OrgID": "a", "X-Tenant": "b"}, want: "a"},
		{name: "path characters", header: map[string]string{"X-Scope-OrgID": "a/b"}, invalid: true},
		{name: "dot dot", header: map[string]string{"X-Scope-OrgID": ".."}, invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			var pairs []string
			for k, v := range tc.header {
				h.Set(k, v)
				pairs = append(pairs, k, v)
			}
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(pairs...))
			for via, get := range map[string]func() (string, error){
				"http": func() (string, error) { return TenantFromHTTP(h, tc.def) },
				"grpc": func() (string, error) { return TenantFromGRPC(ctx, tc.def) },
			} {
				got, err := get()
				if tc.invalid {
					if !errors.As(err, new(*InvalidError)) {
						t.Errorf("%s: error %v, want an InvalidError", via, err)
					}
					continue
				}
				if err != nil || got != tc.want {
					t.Errorf("%s: got %q, %v; want %q", via, got, err, tc.want)
				}
			}
		})
	}
}

func TestTenantWithoutMetadata(t *testing.T) {
	got, err := TenantFromGRPC(context.Background(), "")
	if err != nil || got != model.DefaultTenant {
		t.Fatalf("got %q, %v", got, err)
	}
}
