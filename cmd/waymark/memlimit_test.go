package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"waymark/internal/config"
)

// TestApplyMemoryLimit sets the runtime's soft memory limit from
// memory_limit, leaves it alone when GOMEMLIMIT is in the environment or the
// setting is 0, and restores the test process's limit afterwards.
func TestApplyMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const sentinel = 5 << 30
	tests := []struct {
		name  string
		limit config.ByteSize
		env   []string
		want  int64
	}{
		{name: "from the setting", limit: 400 << 20, want: 400 << 20},
		{name: "GOMEMLIMIT wins", limit: 400 << 20, env: []string{"GOMEMLIMIT=1GiB"}, want: sentinel},
		{name: "zero leaves the runtime alone", want: sentinel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(sentinel)
			cfg := config.Default()
			cfg.MemoryLimit = tc.limit
			applyMemoryLimit(cfg, tc.env, log)
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("memory limit %d, want %d", got, tc.want)
			}
		})
	}
}
