package jaegergrpc

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestCodec(t *testing.T) {
	tests := []struct {
		name    string
		in, out any
		check   func(t *testing.T, out any)
		wantErr string
	}{
		{
			name: "gogo message",
			in:   &api_v2.GetServicesResponse{Services: []string{"cart", "frontend"}},
			out:  &api_v2.GetServicesResponse{},
			check: func(t *testing.T, out any) {
				if got := out.(*api_v2.GetServicesResponse).Services; !slices.Equal(got, []string{"cart", "frontend"}) {
					t.Errorf("services %v", got)
				}
			},
		},
		{
			name: "gogo message with times",
			in:   &api_v2.GetDependenciesRequest{StartTime: time.Unix(1, 2).UTC(), EndTime: time.Unix(3, 4).UTC()},
			out:  &api_v2.GetDependenciesRequest{},
			check: func(t *testing.T, out any) {
				if r := out.(*api_v2.GetDependenciesRequest); !r.StartTime.Equal(time.Unix(1, 2)) || !r.EndTime.Equal(time.Unix(3, 4)) {
					t.Errorf("times %v %v", r.StartTime, r.EndTime)
				}
			},
		},
		{
			name: "standard protobuf message",
			in:   wrapperspb.String("x"),
			out:  &wrapperspb.StringValue{},
			check: func(t *testing.T, out any) {
				if !proto.Equal(out.(*wrapperspb.StringValue), wrapperspb.String("x")) {
					t.Errorf("got %v", out)
				}
			},
		},
		{name: "not a message", in: "x", out: new(string), wantErr: "not a protobuf message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c codec
			b, err := c.Marshal(tt.in)
			if err == nil {
				err = c.Unmarshal(b, tt.out)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, tt.out)
		})
	}
	if err := (codec{}).Unmarshal([]byte("x"), new(int)); err == nil {
		t.Error("decoded into a non-message")
	}
}
