package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vkio/vkio/gpu"
)

func TestNpyRoundTrip(t *testing.T) {
	for _, shape := range [][]int64{{5}, {2, 3}, {1, 2, 3}} {
		for _, dt := range []dtype{f32, f64, u8, i16, u32, i64} {
			h := npyHeader(dt, shape)
			if len(h)%64 != 0 || h[len(h)-1] != '\n' {
				t.Fatalf("%s %v: header of %d bytes", dt, shape, len(h))
			}
			n := int64(dt.Size())
			for _, d := range shape {
				n *= d
			}
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i)
			}
			a, err := parseNpy(append(h, data...))
			if err != nil || a.descr != dt.NpyDescr() || a.typ != dt || !bytes.Equal(a.body, data) || fmt.Sprint(a.shape) != fmt.Sprint(shape) {
				t.Fatalf("%s %v: %+v %v", dt, shape, a, err)
			}
			// One byte more or less than the shape holds: refused.
			if _, err := parseNpy(append(h, data[1:]...)); err == nil || !strings.Contains(err.Error(), "holds") {
				t.Fatalf("%s %v: short data: %v", dt, shape, err)
			}
			if _, err := parseNpy(append(append(h, data...), 0)); err == nil {
				t.Fatalf("%s %v: one byte too many accepted", dt, shape)
			}
			if len(shape) == 1 && !strings.Contains(string(h), "(5,)") {
				t.Fatalf("1-D shape: %q", h)
			}
		}
	}
	if _, err := parseNpy([]byte("\x93NUMPY\x01\x00\xff\x00{")); err == nil {
		t.Fatal("truncated header accepted")
	}
}

func TestElementTypes(t *testing.T) {
	// square.spv: uint[] in and out.
	square, err := gpu.Reflect(mustRead(t, "testdata/square.spv"))
	if err != nil {
		t.Fatal(err)
	}
	if got := elementTypes(square); len(got) != 2 || got[0] != u32 || got[1] != u32 {
		t.Fatalf("square: %v", got)
	}
	// Only set 0 is typed; types without a dtype are left out.
	r := &gpu.Reflection{Bindings: []gpu.BindingInfo{
		{Binding: 0, Elem: gpu.Int16},
		{Binding: 1, Elem: gpu.Float16},
		{Binding: 2, Elem: gpu.ScalarUnknown},
		{Set: 1, Binding: 3, Elem: gpu.Uint64},
		{Binding: 4, Elem: gpu.Float64},
	}}
	if got := elementTypes(r); len(got) != 2 || got[0] != i16 || got[4] != f64 {
		t.Fatalf("elementTypes: %v", got)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
