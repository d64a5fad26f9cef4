package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
)

// TestGenerateAllocs: zeros and iota are one allocation, the contents (no
// buffer made up front and thrown away).
func TestGenerateAllocs(t *testing.T) {
	for _, kind := range []bindKind{bindZeros, bindIota} {
		spec := bindSpec{text: kind.name(), kind: kind}
		if n := testing.AllocsPerRun(20, func() {
			if _, err := spec.generate(f32, 4096, 1, 0); err != nil {
				t.Fatal(err)
			}
		}); n != 1 {
			t.Errorf("%s: %v allocations, want 1", spec.text, n)
		}
	}
}

// TestResolveData: data sent with a job (serve's bindingN parts) is bound as
// it is, without generating anything, after the same size checks as a file;
// its size is the default size of the other bindings.
func TestResolveData(t *testing.T) {
	prog := &program{refl: &gpu.Reflection{Bindings: []gpu.BindingInfo{
		{Binding: 0, RuntimeArray: true, ReadOnly: true, Elem: gpu.Float32},
		{Binding: 1, RuntimeArray: true, Elem: gpu.Float32},
	}}, types: map[uint32]dtype{}}
	x := io.NewBlocking().Io()
	data := bytes.Repeat([]byte{1, 2, 3, 4}, 4)
	part := func(data []byte) bindSpec {
		return bindSpec{text: "part binding0", kind: bindData, data: data, size: &sizeSpec{n: int64(len(data)), inBytes: true}}
	}
	p := &runPlan{shader: "test.spv", binds: map[uint32]bindSpec{0: part(data)}}
	_, bs, _, err := resolve(x, p, prog)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || &bs[0].data[0] != &data[0] || len(bs[0].data) != len(data) || bs[0].source != "part binding0" {
		t.Fatalf("binding 0: %+v, want the part's bytes themselves", bs[0])
	}
	if !bytes.Equal(bs[1].data, make([]byte, len(data))) || bs[1].source != "zeros" {
		t.Fatalf("binding 1: %d bytes from %s, want %d zero bytes", len(bs[1].data), bs[1].source, len(data))
	}
	p.binds[0] = part([]byte{1, 2, 3, 4, 5, 6})
	if _, _, _, err := resolve(x, p, prog); err == nil || !strings.Contains(err.Error(), "not a whole number of f32 elements") {
		t.Fatalf("6 bytes of f32: %v", err)
	}
}
