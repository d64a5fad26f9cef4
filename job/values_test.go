package job

import (
	"strings"
	"testing"

	"github.com/vkio/vkio/npy"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{
		"1000": {1000, false}, "64K": {65536, false}, "1M": {1 << 20, false}, "2G": {2 << 30, false},
		"4096B": {4096, true}, "64KiB": {65536, true}, "4MiB": {4 << 20, true}, "1GiB": {1 << 30, true},
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "K", "0", "-5", "12XB", "1.5M", "99999999999G"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestParseDims(t *testing.T) {
	if d, err := ParseDims("512,512"); err != nil || d != [3]uint32{512, 512, 1} {
		t.Fatalf("512,512: %v %v", d, err)
	}
	if d, err := ParseDims("4x2x3"); err != nil || d != [3]uint32{4, 2, 3} {
		t.Fatalf("4x2x3: %v %v", d, err)
	}
	for _, in := range []string{"", "0", "1,2,3,4", "a", "-1"} {
		if _, err := ParseDims(in); err == nil {
			t.Errorf("ParseDims(%q) accepted", in)
		}
	}
}

func TestParseValue(t *testing.T) {
	for _, c := range []struct {
		t   DType
		in  string
		ok  bool
		out float64
	}{
		{F32, "2.5", true, 2.5}, {U32, "7", true, 7}, {U32, "0x10", true, 16}, {I32, "-3", true, -3},
		{U8, "256", false, 0}, {U32, "-1", false, 0}, {I8, "-128", true, -128}, {F64, "x", false, 0},
	} {
		v, err := ParseValue(c.t, c.in)
		if (err == nil) != c.ok || (c.ok && v.Float() != c.out) {
			t.Errorf("ParseValue(%s, %q) = %v, %v", c.t, c.in, v.Float(), err)
		}
		if c.ok && len(v.AppendLE(nil)) != c.t.Size() {
			t.Errorf("%s packs to %d bytes", c.t, len(v.AppendLE(nil)))
		}
	}
}

// TestNpyTypes: every descr package npy reads has an element type of the
// same size, and every element type's descr is one npy reads.
func TestNpyTypes(t *testing.T) {
	for _, d := range strings.Fields(npy.Descrs) {
		dt, ok := DTypeOfNpy(d)
		size, _ := npy.ItemSize(d)
		if !ok || dt.Size() != size {
			t.Errorf("%s: %v %v (size %d)", d, dt, ok, size)
		}
	}
	for dt := F32; dt <= U64; dt++ {
		if back, ok := DTypeOfNpy(dt.NpyDescr()); !ok || back != dt {
			t.Errorf("%s: descr %s reads back as %v", dt, dt.NpyDescr(), back)
		}
	}
}
