package npy_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/vkio/vkio/npy"
)

// The fixtures in testdata were written by numpy 1.24 (testdata/gen.py).

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func f32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func TestReadNumpyFiles(t *testing.T) {
	for _, c := range []struct {
		file, descr string
		shape       []int64
		fortran     bool
		check       func(data []byte) string
	}{
		{"f4.npy", "<f4", []int64{4}, false, func(d []byte) string { return fmt.Sprint(f32s(d)) }},
		{"i4_2x3.npy", "<i4", []int64{2, 3}, false, func(d []byte) string {
			var v []int32
			for i := 0; i < len(d); i += 4 {
				v = append(v, int32(binary.LittleEndian.Uint32(d[i:])))
			}
			return fmt.Sprint(v)
		}},
		{"u1.npy", "|u1", []int64{6}, false, func(d []byte) string { return fmt.Sprint(d) }},
		{"f8_3x2.npy", "<f8", []int64{3, 2}, false, func(d []byte) string {
			var v []float64
			for i := 0; i < len(d); i += 8 {
				v = append(v, math.Float64frombits(binary.LittleEndian.Uint64(d[i:])))
			}
			return fmt.Sprint(v)
		}},
		{"f4_fortran_1x4.npy", "<f4", []int64{1, 4}, false, func(d []byte) string { return fmt.Sprint(f32s(d)) }},
		{"i8_scalar.npy", "<i8", nil, false, func(d []byte) string { return fmt.Sprint(binary.LittleEndian.Uint64(d)) }},
		{"u2_empty.npy", "<u2", []int64{0, 3}, false, func(d []byte) string { return fmt.Sprint(len(d)) }},
	} {
		want := map[string]string{
			"f4.npy":             "[0.5 -1.25 3 0.001]",
			"i4_2x3.npy":         "[-3 -2 -1 0 1 2]",
			"u1.npy":             "[250 251 252 253 254 255]",
			"f8_3x2.npy":         "[1 2 3.5 -4 1e+300 0]",
			"f4_fortran_1x4.npy": "[0 1 2 3]",
			"i8_scalar.npy":      "7",
			"u2_empty.npy":       "0",
		}[c.file]
		a, err := npy.Read(readFixture(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if a.Descr != c.descr || fmt.Sprint(a.Shape) != fmt.Sprint(c.shape) || a.FortranOrder != c.fortran {
			t.Errorf("%s: descr %q shape %v fortran %v", c.file, a.Descr, a.Shape, a.FortranOrder)
		}
		if got := c.check(a.Data); got != want {
			t.Errorf("%s: data %s, want %s", c.file, got, want)
		}
	}
}

func TestRefuseNumpyFiles(t *testing.T) {
	for file, want := range map[string]string{
		"f4_be.npy":          "big-endian",
		"f4_fortran_2x3.npy": "Fortran order",
		"f2.npy":             `dtype "<f2" is not one npy reads`,
	} {
		_, err := npy.Read(readFixture(t, file))
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, npy.ErrFormat) {
			t.Errorf("%s: %v, want an ErrFormat with %q", file, err, want)
		}
	}
}

// What the package writes is byte for byte what numpy writes.
func TestWriteAsNumpy(t *testing.T) {
	for _, file := range []string{"f4.npy", "i4_2x3.npy", "u1.npy", "f8_3x2.npy", "i8_scalar.npy", "u2_empty.npy"} {
		want := readFixture(t, file)
		a, err := npy.Read(want)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := npy.Write(&buf, a.Descr, a.Shape, a.Data); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: wrote\n%q\nnumpy wrote\n%q", file, buf.Bytes(), want)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		descr string
		shape []int64
		data  []byte
		want  string
	}{
		{"<f4", []int64{2}, make([]byte, 4), "holds 8 bytes, but the data has 4"},
		{">f4", []int64{1}, make([]byte, 4), "not one the package writes"},
		{"<f4", []int64{-1}, nil, "negative"},
		{"<u1", make([]int64, npy.MaxDims+1), nil, "more than 32"},
		{"<u1", []int64{1 << 40, 1 << 40}, nil, "more elements"},
	} {
		if err := npy.Write(&buf, c.descr, c.shape, c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Write(%s, %v): %v, want %q", c.descr, c.shape, err, c.want)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written by refused writes", buf.Len())
	}
}

func TestRoundTrip(t *testing.T) {
	for _, shape := range [][]int64{{5}, {2, 3}, {1, 2, 3}} {
		for _, descr := range []string{"<f4", "<f8", "|u1", "<i2", "<u4", "<i8"} {
			h, err := npy.Header(descr, shape)
			if err != nil {
				t.Fatal(err)
			}
			if len(h)%64 != 0 || h[len(h)-1] != '\n' {
				t.Fatalf("%s %v: header of %d bytes", descr, shape, len(h))
			}
			size, _ := npy.ItemSize(descr)
			n := int64(size)
			for _, d := range shape {
				n *= d
			}
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i)
			}
			a, err := npy.Read(append(h, data...))
			if err != nil || a.Descr != descr || !bytes.Equal(a.Data, data) || fmt.Sprint(a.Shape) != fmt.Sprint(shape) {
				t.Fatalf("%s %v: %+v %v", descr, shape, a, err)
			}
			if _, err := npy.Read(append(h, data[1:]...)); err == nil || !strings.Contains(err.Error(), "holds") {
				t.Fatalf("%s %v: short data: %v", descr, shape, err)
			}
			if _, err := npy.Read(append(append(h, data...), 0)); err == nil {
				t.Fatalf("%s %v: one byte too many accepted", descr, shape)
			}
		}
	}
	if _, err := npy.Read([]byte("\x93NUMPY\x01\x00\xff\x00{")); err == nil {
		t.Fatal("truncated header accepted")
	}
}

// fortran_order True is read where it is the same as C order (numpy itself
// writes False for such arrays; other writers may not).
func TestFortranSameAsC(t *testing.T) {
	a, err := npy.Read(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 4, 1), }\n", make([]byte, 16)))
	if err != nil || !a.FortranOrder || len(a.Data) != 16 {
		t.Fatalf("%+v %v", a, err)
	}
}

// npyBytes builds a .npy file: a version 1.0 header around dict, then body.
func npyBytes(dict string, body []byte) []byte {
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	return append(append(b, dict...), body...)
}

func header(t testing.TB, descr string, shape []int64) []byte {
	h, err := npy.Header(descr, shape)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func FuzzNPY(f *testing.F) {
	f.Add(append(header(f, "<f4", []int64{4}), make([]byte, 16)...))
	f.Add(append(header(f, "|u1", []int64{2, 3}), make([]byte, 6)...))
	f.Add(append(header(f, "<i8", nil), make([]byte, 8)...))
	// A shape that claims far more than the data (issue 12).
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }\n", make([]byte, 16)))
	// A shape whose product overflows int64 to a small number.
	f.Add(npyBytes("{'descr': '<u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }\n", make([]byte, 16)))
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", make([]byte, 16)))
	f.Add(npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }\n", make([]byte, 16)))
	f.Add(npyBytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", make([]byte, 16)))
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4L,), }\n", make([]byte, 16)))
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4), }\n", make([]byte, 16)))
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': ("+strings.Repeat("1,", 40)+"), }\n", make([]byte, 4)))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\xff{"))
	f.Add([]byte("\x93NUMPY\x03\x00\x10\x00\x00\x00{'descr': '<f4'"))
	f.Add([]byte("\x93NUMPY\x01\x00\xff\x00{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := npy.Read(data)
		if err != nil {
			if len(err.Error()) > 1024 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		if len(a.Shape) > npy.MaxDims {
			t.Fatalf("%d dimensions accepted", len(a.Shape))
		}
		size, ok := npy.ItemSize(a.Descr)
		if !ok {
			t.Fatalf("descr %q accepted", a.Descr)
		}
		n := int64(size)
		for _, d := range a.Shape {
			if d < 0 {
				t.Fatalf("negative dimension in %v", a.Shape)
			}
			n *= d
		}
		if n != int64(len(a.Data)) {
			t.Fatalf("shape %v of %s holds %d bytes, the data has %d", a.Shape, a.Descr, n, len(a.Data))
		}
		if len(a.Data) > 0 && unsafe.SliceData(a.Data) != &data[len(data)-len(a.Data)] {
			t.Fatal("the data is not the file's tail")
		}
		// What the package writes for that array reads back the same.
		var buf bytes.Buffer
		if err := npy.Write(&buf, a.Descr, a.Shape, a.Data); err != nil {
			t.Fatal(err)
		}
		b, err := npy.Read(buf.Bytes())
		if err != nil || b.Descr != a.Descr || fmt.Sprint(b.Shape) != fmt.Sprint(a.Shape) || !bytes.Equal(b.Data, a.Data) {
			t.Fatalf("round trip of %s %v: %+v, %v", a.Descr, a.Shape, b, err)
		}
	})
}
