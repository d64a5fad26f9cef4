package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vkio/vkio/gpu"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]sizeSpec{
		"1000": {1000, false}, "64K": {65536, false}, "1M": {1 << 20, false}, "2G": {2 << 30, false},
		"4096B": {4096, true}, "64KiB": {65536, true}, "4MiB": {4 << 20, true}, "1GiB": {1 << 30, true},
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "K", "0", "-5", "12XB", "1.5M", "99999999999G"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestParseDims(t *testing.T) {
	if d, err := parseDims("512,512"); err != nil || d != [3]uint32{512, 512, 1} {
		t.Fatalf("512,512: %v %v", d, err)
	}
	if d, err := parseDims("4x2x3"); err != nil || d != [3]uint32{4, 2, 3} {
		t.Fatalf("4x2x3: %v %v", d, err)
	}
	for _, in := range []string{"", "0", "1,2,3,4", "a", "-1"} {
		if _, err := parseDims(in); err == nil {
			t.Errorf("parseDims(%q) accepted", in)
		}
	}
}

func TestParseValue(t *testing.T) {
	for _, c := range []struct {
		t   dtype
		in  string
		ok  bool
		out float64
	}{
		{f32, "2.5", true, 2.5}, {u32, "7", true, 7}, {u32, "0x10", true, 16}, {i32, "-3", true, -3},
		{u8, "256", false, 0}, {u32, "-1", false, 0}, {i8, "-128", true, -128}, {f64, "x", false, 0},
	} {
		v, err := parseValue(c.t, c.in)
		if (err == nil) != c.ok || (c.ok && v.float() != c.out) {
			t.Errorf("parseValue(%s, %q) = %v, %v", c.t, c.in, v.float(), err)
		}
		if c.ok && len(v.appendLE(nil)) != c.t.size() {
			t.Errorf("%s packs to %d bytes", c.t, len(v.appendLE(nil)))
		}
	}
}

func TestNpyRoundTrip(t *testing.T) {
	for _, shape := range [][]int64{{5}, {2, 3}, {1, 2, 3}} {
		for _, dt := range []dtype{f32, f64, u8, i16, u32, i64} {
			h := npyHeader(dt, shape)
			if len(h)%64 != 0 || h[len(h)-1] != '\n' {
				t.Fatalf("%s %v: header of %d bytes", dt, shape, len(h))
			}
			n := int64(dt.size())
			for _, d := range shape {
				n *= d
			}
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i)
			}
			a, err := parseNpy(append(h, data...))
			if err != nil || a.descr != dt.npyDescr() || a.typ != dt || !bytes.Equal(a.body, data) || fmt.Sprint(a.shape) != fmt.Sprint(shape) {
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
