//go:build ignore

// gen regenerates the Go code of package apiv3pb from the .proto files
// under proto/. It needs protoc, protoc-gen-go and protoc-gen-go-grpc on
// PATH. The imported OTLP and well-known protos are taken from the Go
// packages Waymark links, as a descriptor set, so the generated code
// refers to exactly those packages.
package main

import (
	"fmt"
	"os"
	"os/exec"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const goPackage = "waymark/internal/api/jaegergrpc/apiv3pb"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(tracepb.File_opentelemetry_proto_trace_v1_trace_proto)
	add(timestamppb.File_google_protobuf_timestamp_proto)
	add(durationpb.File_google_protobuf_duration_proto)
	b, err := proto.Marshal(set)
	if err != nil {
		return fmt.Errorf("encode descriptor set: %w", err)
	}
	f, err := os.CreateTemp("", "apiv3pb-*.binpb")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cmd := exec.Command("protoc",
		"--descriptor_set_in="+f.Name(), "-I", "proto",
		"--go_out=.", "--go_opt=module="+goPackage,
		"--go-grpc_out=.", "--go-grpc_opt=module="+goPackage,
		"api_v3/query_service.proto", "expression/v1/expression.proto")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
