//go:build linux && cgo

package vkx

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/shaders"
)

func words(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

type sink struct {
	mu   sync.Mutex
	msgs []Message
}

func (s *sink) add(m Message) { s.mu.Lock(); s.msgs = append(s.msgs, m); s.mu.Unlock() }
func (s *sink) take() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs
	s.msgs = nil
	return m
}

func setup(t *testing.T) (*Instance, *Device, *sink) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", runtimeDir(t))
	s := &sink{}
	in, err := NewInstance(InstanceConfig{AppName: "vkx-test", Validation: true, SyncValidation: true, OnMessage: s.add})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Devices) == 0 {
		in.Destroy()
		t.Skip("no Vulkan device")
	}
	d, err := in.NewDevice(0, DeviceConfig{})
	if err != nil {
		in.Destroy()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Destroy()
		in.Destroy()
		for _, m := range s.take() {
			t.Errorf("validation: %s", m)
		}
	})
	return in, d, s
}

func runtimeDir(t *testing.T) string {
	return t.TempDir()
}

func hostType(d *Device) func(uint32) (int, bool) {
	return func(bits uint32) (int, bool) {
		for i, mt := range d.Phys.MemoryTypes {
			if bits&(1<<i) != 0 && mt.Flags&(MemHostVisible|MemHostCoherent) == MemHostVisible|MemHostCoherent {
				return i, true
			}
		}
		return -1, false
	}
}

func TestTinyDispatch(t *testing.T) {
	_, d, _ := setup(t)
	b, err := d.NewBuffer(16, hostType(d))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	clear(b.Mapped) // new device memory is undefined; the kernel counts from 0
	p, err := d.NewPipeline(PipelineConfig{Code: words(shaders.Tiny()), Entry: "main", Bindings: []Binding{{Binding: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Destroy()
	c, err := d.Record([]Op{
		{Kind: OpTimestamp, Query: 0},
		{Kind: OpDispatch, Pipeline: p, Buffers: []BufRange{{Buf: b}}, Groups: [3]uint32{1, 1, 1}},
		{Kind: OpTimestamp, Query: 1},
		{Kind: OpHostBarrier},
	}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()
	for i := 0; i < 3; i++ {
		v, err := d.Submit(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Wait(v, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if got := Slice[uint32](b.Mapped, 0, 1)[0]; got != 3 {
		t.Fatalf("counter = %d, want 3", got)
	}
	ts := make([]uint64, 2)
	if err := c.Timestamps(ts); err != nil {
		t.Fatal(err)
	}
	if ts[1] < ts[0] {
		t.Fatalf("timestamps %v", ts)
	}
	t.Logf("device %s, dispatch took %d ticks", d.Phys.Name, ts[1]-ts[0])
	d.InjectFault(FaultSubmit, ErrorDeviceLost, 1)
	_, err = d.Submit(c)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Code != ErrorDeviceLost {
		t.Fatalf("injected fault: %v", err)
	}
}

func TestGateCatches(t *testing.T) {
	in, d, s := setup(t)
	if err := d.RawBuffer(0); err != nil {
		t.Fatal(err)
	}
	in.DebugMessage("deliberate")
	msgs := s.take()
	if len(msgs) < 2 {
		t.Fatalf("want 2+ messages, got %v", msgs)
	}
	t.Logf("caught: %v", msgs)
}

// TestRobustBufferAccess checks that the device is created with
// robustBufferAccess wherever the physical device reports it: the flag is
// read back from the very features struct handed to vkCreateDevice, and the
// validation layer (setup fails the test on any message) would object to a
// feature the device lacks.
func TestRobustBufferAccess(t *testing.T) {
	_, d, _ := setup(t)
	if d.RobustBufferAccess != d.Phys.RobustBufferAccess {
		t.Fatalf("robustBufferAccess enabled=%v, supported=%v", d.RobustBufferAccess, d.Phys.RobustBufferAccess)
	}
	if !d.Phys.RobustBufferAccess {
		t.Skipf("%s lacks robustBufferAccess", d.Phys.Name)
	}
}
