//go:build linux && cgo

package vkx

import (
	"errors"
	"testing"

	"github.com/vkio/vkio/shaders"
)

// TestRecoverTo checks the recovery deferred at vulkan-go call sites: a
// panic becomes a *PanicError (out of memory for vulkan-go's allocation
// panics), undo runs once, and a panic inside undo does not escape.
func TestRecoverTo(t *testing.T) {
	call := func(v any, undo func()) (err error) {
		defer recoverTo("op", &err, undo)
		panic(v)
	}
	undone := 0
	err := call("memory alloc error: cannot allocate memory", func() { undone++ })
	var pe *PanicError
	if !errors.As(err, &pe) || !pe.OutOfMemory() || pe.Op != "op" {
		t.Fatalf("vulkan-go's allocation panic: %v, want an out-of-memory *PanicError", err)
	}
	if undone != 1 {
		t.Fatalf("undo ran %d times, want 1", undone)
	}
	err = call(errors.New("something else"), func() { panic("again") })
	if !errors.As(err, &pe) || pe.OutOfMemory() {
		t.Fatalf("another panic: %v, want a *PanicError that is not out of memory", err)
	}
	ok := func() (err error) {
		defer recoverTo("op", &err, func() { t.Fatal("undo ran without a panic") })
		return nil
	}
	if err := ok(); err != nil {
		t.Fatalf("no panic: %v", err)
	}
}

// TestRecordPanic makes Record panic part way (FaultPanic): it must return
// a *PanicError and destroy the pools it had made (the validation layer
// reports leaks at the device's destruction), and record again afterwards.
func TestRecordPanic(t *testing.T) {
	_, d, _ := setup(t)
	b, err := d.NewBuffer(16, hostType(d))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	p, err := d.NewPipeline(PipelineConfig{Code: words(shaders.Tiny()), Entry: "main", Bindings: []Binding{{Binding: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Destroy()
	ops := []Op{
		{Kind: OpTimestamp, Query: 0},
		{Kind: OpDispatch, Pipeline: p, Buffers: []BufRange{{Buf: b}}, Groups: [3]uint32{1, 1, 1}},
		{Kind: OpHostBarrier},
	}
	d.InjectFault(FaultPanic, ErrorOutOfHostMemory, 1)
	c, err := d.Record(ops, 1)
	var pe *PanicError
	if c != nil || !errors.As(err, &pe) || !pe.OutOfMemory() {
		t.Fatalf("Record with an injected panic: %v, %v; want nil and an out-of-memory *PanicError", c, err)
	}
	c, err = d.Record(ops, 1)
	if err != nil {
		t.Fatal(err)
	}
	c.Destroy()
}
