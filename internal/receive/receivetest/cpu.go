package receivetest

import (
	"syscall"
	"testing"
	"time"
)

// ProcessCPU returns the CPU time (user and system, all threads, the
// garbage collector included) the process has used so far.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReportPerSpan reports, for a benchmark whose every op handles
// spansPerOp spans, the wall time per span ("ns/span") and the process CPU
// time per span since cpuStart ("cpu-ns/span"), which stays meaningful
// when the machine is shared.
func ReportPerSpan(b *testing.B, spansPerOp int, cpuStart time.Duration) {
	spans := float64(b.N) * float64(spansPerOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
	b.ReportMetric(float64((ProcessCPU()-cpuStart).Nanoseconds())/spans, "cpu-ns/span")
}
