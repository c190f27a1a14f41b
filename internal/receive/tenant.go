package receive

import (
	"context"
	"fmt"
	"net/http"

	"google.golang.org/grpc/metadata"

	"waymark/internal/model"
)

// Tenant headers: Tempo's X-Scope-OrgID, and Jaeger's x-tenant as an alias.
const (
	TenantHeader      = "X-Scope-OrgID"
	TenantHeaderAlias = "X-Tenant"
)

// gRPC metadata keys are lowercase.
const (
	tenantMetadata      = "x-scope-orgid"
	tenantMetadataAlias = "x-tenant"
)

// TenantFromHTTP returns the tenant named by the request's X-Scope-OrgID
// header (or its alias X-Tenant), or def when neither is set. A tenant
// that model.ValidateTenant refuses yields an *InvalidError.
func TenantFromHTTP(h http.Header, def string) (string, error) {
	t := h.Get(TenantHeader)
	if t == "" {
		t = h.Get(TenantHeaderAlias)
	}
	return checkTenant(t, def)
}

// TenantFromGRPC returns the tenant named by the incoming gRPC metadata
// x-scope-orgid (or its alias x-tenant), or def when neither is set. A
// tenant that model.ValidateTenant refuses yields an *InvalidError.
func TenantFromGRPC(ctx context.Context, def string) (string, error) {
	var t string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(tenantMetadata); len(v) > 0 {
			t = v[0]
		} else if v := md.Get(tenantMetadataAlias); len(v) > 0 {
			t = v[0]
		}
	}
	return checkTenant(t, def)
}

func checkTenant(t, def string) (string, error) {
	if t == "" {
		t = def
	}
	if t == "" {
		t = model.DefaultTenant
	}
	if err := model.ValidateTenant(t); err != nil {
		return "", Invalid(fmt.Errorf("tenant: %w", err))
	}
	return t, nil
}
