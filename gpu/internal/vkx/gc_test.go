//go:build linux && cgo

package vkx

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/shaders"
)

// TestMarshallingUnderGC runs every call whose arrays vulkan-go would
// marshal into C memory freed by a GC finalizer (layer and extension
// enumeration, queue families, pipeline creation with specialization,
// descriptor writes, copies, barriers) while another goroutine collects
// garbage nonstop. Through vulkan-go, the enumerations alone corrupted the
// heap (SIGSEGV or "malloc(): corrupted double-linked list") in 3 runs of 3
// within 3000 rounds; through vkx's shims they must stay exact.
func TestMarshallingUnderGC(t *testing.T) {
	in, d, _ := setup(t)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			runtime.GC()
		}
	}()
	defer func() { stop.Store(true); <-done }()

	rounds := 1500
	if testing.Short() {
		rounds = 200
	}
	want := in.Devices[0]
	for i := 0; i < rounds; i++ {
		ok, err := HasLayer(ValidationLayer)
		if err != nil || !ok {
			t.Fatalf("round %d: HasLayer: %v, %v", i, ok, err)
		}
		p := in.describe(0, want.pd)
		if len(p.Extensions) != len(want.Extensions) || p.QueueFamily != want.QueueFamily || p.QueueCount != want.QueueCount ||
			p.TimestampValidBits != want.TimestampValidBits || p.DriverName != want.DriverName {
			t.Fatalf("round %d: described %d extensions, family %d (%d queues), %d bits, driver %q; want %d, %d (%d), %d, %q", i,
				len(p.Extensions), p.QueueFamily, p.QueueCount, p.TimestampValidBits, p.DriverName,
				len(want.Extensions), want.QueueFamily, want.QueueCount, want.TimestampValidBits, want.DriverName)
		}
	}

	// SAXPY (y = a*x + y, a and n pushed) with its local size specialized,
	// over two buffers filled and copied on the device, 20 times over.
	const n = 256
	bx, err := d.NewBuffer(4*n, hostType(d))
	if err != nil {
		t.Fatal(err)
	}
	defer bx.Destroy()
	by, err := d.NewBuffer(4*n, hostType(d))
	if err != nil {
		t.Fatal(err)
	}
	defer by.Destroy()
	xs := Slice[float32](bx.Mapped, 0, n)
	for i := range xs {
		xs[i] = float32(i)
	}
	push := binary.LittleEndian.AppendUint32(nil, math.Float32bits(2))
	push = binary.LittleEndian.AppendUint32(push, n)
	for i := 0; i < 20; i++ {
		p, err := d.NewPipeline(PipelineConfig{Code: words(shaders.SAXPY()), Entry: "main",
			Bindings: []Binding{{Binding: 0}, {Binding: 1}}, PushSize: 8,
			Spec: []SpecEntry{{ID: 0, Offset: 0, Size: 4}}, SpecData: []byte{64, 0, 0, 0}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := d.Record([]Op{
			{Kind: OpFill, Dst: BufRange{Buf: by}, Value: 0},
			{Kind: OpBarrier},
			{Kind: OpDispatch, Pipeline: p, Buffers: []BufRange{{Buf: bx}, {Buf: by}}, Groups: [3]uint32{n / 64, 1, 1}, Push: push},
			{Kind: OpBarrier},
			{Kind: OpCopy, Src: BufRange{Buf: by, Size: 4 * n / 2}, Dst: BufRange{Buf: by, Off: 4 * n / 2}},
			{Kind: OpHostBarrier},
		}, 0)
		if err != nil {
			p.Destroy()
			t.Fatal(err)
		}
		v, err := d.Submit(c)
		if err == nil {
			err = d.Wait(v, 10*time.Second)
		}
		c.Destroy()
		p.Destroy()
		if err != nil {
			t.Fatal(err)
		}
		ys := Slice[float32](by.Mapped, 0, n)
		for j := range ys {
			if want := 2 * float32(j%(n/2)); ys[j] != want {
				t.Fatalf("round %d: y[%d] = %v, want %v", i, j, ys[j], want)
			}
		}
	}
}

// TestWaitWake: a wait on the timeline ends when the work completes, or at
// once when another goroutine calls Wake (before the value); Wake after
// Destroy does nothing (a canceled task's callback can run that late; it
// once signalled through freed memory into the next device's timeline).
func TestWaitWake(t *testing.T) {
	in, d, _ := setup(t)
	const n = 1 << 20
	bx, err := d.NewBuffer(4*n, hostType(d))
	if err != nil {
		t.Fatal(err)
	}
	defer bx.Destroy()
	p, err := d.NewPipeline(PipelineConfig{Code: words(shaders.SAXPY()), Entry: "main",
		Bindings: []Binding{{Binding: 0}, {Binding: 1}}, PushSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Destroy()
	push := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, math.Float32bits(1)), n)
	var ops []Op
	for i := 0; i < 64; i++ {
		ops = append(ops, Op{Kind: OpDispatch, Pipeline: p, Buffers: []BufRange{{Buf: bx}, {Buf: bx}}, Groups: [3]uint32{n / 256, 1, 1}, Push: push},
			Op{Kind: OpBarrier})
	}
	c, err := d.Record(ops, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()

	v, err := d.Submit(c)
	if err != nil {
		t.Fatal(err)
	}
	done, err := d.WaitWake(v, d.WakeTicket(), 10*time.Second)
	if err != nil || done < v {
		t.Fatalf("plain wait: timeline %d, %v; want %d", done, err, v)
	}

	// A value nothing will signal: only Wake can end this wait.
	ticket := d.WakeTicket()
	go func() {
		if err := d.Wake(); err != nil {
			t.Error(err)
		}
	}()
	done, err = d.WaitWake(v+1000, ticket, 10*time.Second)
	if err != nil || done != v {
		t.Fatalf("woken wait: timeline %d, %v; want %d, nil (ended by Wake)", done, err, v)
	}

	// A device of its own, destroyed, then woken.
	d2, err := in.NewDevice(0, DeviceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d2.Destroy()
	if err := d2.Wake(); err != nil {
		t.Fatalf("Wake after Destroy: %v", err)
	}
}
