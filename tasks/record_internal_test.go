package tasks

import (
	"math"
	"testing"
	"unsafe"
)

// A span is kept in 48 bytes (see Recorder), its CPU time included.
func TestRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(record{}); n != 48 {
		t.Fatalf("record is %d bytes, want 48", n)
	}
	big := int(^uint(0) >> 1) // the largest int
	if frame32(-5) != -1 || frame32(7) != 7 || frame32(big) != math.MaxInt32 {
		t.Fatalf("frame32: %d %d %d", frame32(-5), frame32(7), frame32(big))
	}
}
