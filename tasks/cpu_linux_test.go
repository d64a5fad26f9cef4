//go:build linux

package tasks

import (
	"testing"
	"time"
)

func TestParseHostCPU(t *testing.T) {
	const stat = "cpu  100 20 30 5000 60 7 8 9 10 11\ncpu0 50 10 15 2500 30 3 4 4 5 5\n"
	got, ok := parseHostCPU([]byte(stat))
	// user+nice+system+irq+softirq+steal = 100+20+30+7+8+9 ticks of 10 ms
	if want := 174 * 10 * time.Millisecond; !ok || got != want {
		t.Fatalf("parseHostCPU = %v %v, want %v", got, ok, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 x 4 5 6 7 8", "intr 1 2 3 4 5 6 7 8 9", "cpu 1 2 3 4 5 6 7 99999999999999999999"} {
		if d, ok := parseHostCPU([]byte(bad)); ok {
			t.Errorf("parseHostCPU(%q) = %v, true", bad, d)
		}
	}
	// The real file: it counts at least this process's spin.
	h0, ok := readHostCPU()
	if !ok {
		t.Skip("no /proc/stat")
	}
	p0 := cpuNow()
	for t0 := time.Now(); time.Since(t0) < 100*time.Millisecond; {
	}
	h1, _ := readHostCPU()
	if spun := cpuNow() - p0; h1-h0 < spun/2 {
		t.Fatalf("host CPU grew %v while this process used %v", h1-h0, spun)
	}
}

// FuzzParseHostCPU: any bytes parse without panicking, to a non-negative
// time.
func FuzzParseHostCPU(f *testing.F) {
	f.Add([]byte("cpu  100 20 30 5000 60 7 8 9 10 11\n"))
	f.Add([]byte("cpu 1 2 3 4 5 6 7 8"))
	f.Add([]byte("cpu"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, ok := parseHostCPU(b); ok && d < 0 {
			t.Fatalf("negative host CPU %v from %q", d, b)
		}
	})
}
