package job

import (
	"strings"
	"testing"
)

// The fuzz targets of the flag-style values (push constants, spec
// constants, binding sources, sizes, dims and shapes): their seeds, the
// attacks of issue 12 among them, and testdata/fuzz run with every go test.

func FuzzPush(f *testing.F) {
	f.Add("f32:2,u32:1048576")
	f.Add("u32:512,u32:512,f32:-2,f32:-2,f32:0.0078125,f32:0.0078125,f32:-0.8,f32:0.156,u32:256,u32:1")
	f.Add("f64:1e308,i8:-128,u64:0xffffffffffffffff")
	f.Add("")
	f.Add(",,,")
	f.Add("u32:-1")
	f.Add(strings.Repeat("u8:1,", 1100)) // issue 12: 1.3 GB from 32 MiB of these (TestPushBounded: the 32 MiB)
	f.Add("f16:1")
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := ParsePush(nil, s)
		if err != nil {
			if len(err.Error()) > 1024 { // each of its quotes of the input at most 64 bytes, 4x as \xNN escapes
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		n := 0
		for _, v := range vs {
			n += len(v.AppendLE(nil))
		}
		if n > MaxPushBytes {
			t.Fatalf("%d bytes of push constants accepted", n)
		}
	})
}

func FuzzSpec(f *testing.F) {
	f.Add("0=64")
	f.Add("0=u32:64,1=f32:2.5,2=bool:true")
	f.Add("0=1,0=2") // issue 12: the last one silently won
	f.Add("00=1,0=2")
	f.Add(strings.Repeat("1=1,", 300))
	f.Add("4294967296=1")
	f.Add("=")
	f.Fuzz(func(t *testing.T, s string) {
		m := map[uint32]SpecArg{}
		err := ParseSpec(m, s)
		if len(m) > MaxSpecConstants {
			t.Fatalf("%d constants kept", len(m))
		}
		if err != nil && len(err.Error()) > 1024 {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		if err == nil && strings.Count(s, ",")+1 != len(m) {
			t.Fatalf("%q: %d constants from %d fields", s, len(m), strings.Count(s, ",")+1)
		}
	})
}

func FuzzBind(f *testing.F) {
	for _, s := range []string{"0=zeros", "1=ones:1M", "0=iota:64KiB", "0=rand:12", "2=fill:2.5:1M", "0=fill:0x10",
		"1=file:in.bin", "0=file:/dev/zero", "0=random:10", "zeros", "0=zeros:12XB", "0=fill:", "x=zeros",
		"0=zeros:" + strings.Repeat("9", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, spec, err := ParseBind(s, FlagNames)
		if err != nil {
			if len(err.Error()) > 1024 { // each of its quotes of the input at most 64 bytes, 4x as \xNN escapes
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		if len(spec.Text) > maxQuote+len("…") {
			t.Fatalf("source text of %d bytes kept", len(spec.Text))
		}
		if spec.Size != nil && (spec.Size.N <= 0 || spec.Size.N > 1<<40) {
			t.Fatalf("size %d", spec.Size.N)
		}
	})
}

func FuzzSize(f *testing.F) {
	for _, s := range []string{"1000", "64K", "1M", "2G", "4096B", "64KiB", "1GiB", "0", "-5", "12XB", "99999999999G",
		"512,512", "4x2x3", "1,2,3,4", strings.Repeat("1,", 1000), "1x", ",", "512x512x1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sz, err := ParseSize(s); err == nil && (sz.N <= 0 || sz.N > 1<<40) {
			t.Fatalf("ParseSize(%q) = %d", s, sz.N)
		} else if err != nil && len(err.Error()) > 1024 {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		if d, err := ParseDims(s); err == nil {
			for _, n := range d {
				if n == 0 {
					t.Fatalf("ParseDims(%q) = %v", s, d)
				}
			}
		} else if len(err.Error()) > 1024 { // each of its quotes of the input at most 64 bytes, 4x as \xNN escapes
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		if sh, err := ParseShape(s); err == nil {
			prod := int64(1)
			for _, d := range sh {
				prod *= d
			}
			if len(sh) > MaxShapeDims || prod <= 0 || prod > MaxBindingBytes {
				t.Fatalf("ParseShape(%q) = %v", s, sh)
			}
		}
	})
}
