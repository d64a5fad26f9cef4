//go:build linux && cgo

package vkx

/*
#include "shim.h"
#include <stdlib.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// FaultOp names a seam where tests can inject failures.
type FaultOp int

// Fault seams.
const (
	FaultSubmit FaultOp = iota // vkQueueSubmit
	FaultWait                  // vkWaitSemaphores / vkWaitForFences
	FaultAlloc                 // vkAllocateMemory
	// FaultPanic makes Record panic part way, after its pools are made
	// and while its command buffer is being recorded, as vulkan-go does
	// when a C allocation fails: with code ErrorOutOfHostMemory the panic
	// value is vulkan-go's ("memory alloc error: ..."), with any other code
	// another value.
	FaultPanic
	FaultWake // vkSignalSemaphore of the wake semaphore (Wake)
	numFaultOps
)

// ErrUnsupported reports a device without what vkio needs.
var ErrUnsupported = errors.New("device lacks a required feature")

// Device is a VkDevice with its lanes (a compute queue and, if asked for, a
// transfer lane), each with its timeline semaphore (every submission of the
// lane signals the next value), the wake semaphore, and the per-device C
// function table for the hot path.
type Device struct {
	Phys *PhysicalDevice
	inst *Instance
	dev  vk.Device

	// QueueMu serialises every use of the compute VkQueue (Vulkan requires
	// external synchronisation); it also orders the compute lane's
	// timeline values with its submissions. It is Lanes[0].Mu.
	QueueMu sync.Mutex
	queue   vk.Queue
	// transferMu is the lock of a transfer lane's own VkQueue.
	transferMu sync.Mutex

	// Lanes are the device's submission lanes: the compute lane, then the
	// transfer lane if one was asked for (DeviceConfig.Transfer,
	// SharedTransferLane).
	Lanes []*Lane
	// families are the queue families buffers are shared by (one entry
	// unless the transfer lane is on another family).
	families []uint32
	// HostQueryReset: the device was created with hostQueryReset (for a
	// transfer lane's timestamps).
	HostQueryReset bool

	swapchain bool // VK_KHR_swapchain is enabled

	// RobustBufferAccess reports that the device was created with the
	// robustBufferAccess feature enabled (read back from the very struct
	// handed to vkCreateDevice): shaders' out-of-bounds buffer accesses
	// cannot reach memory outside the bound ranges.
	RobustBufferAccess bool

	fns *C.vkio_fns

	// wake is a second timeline semaphore that only the host signals, to end
	// a WaitWake early (Wake); wakeMu orders its signals, which must rise,
	// and keeps them off a destroyed device (Destroy zeroes wake under it).
	wake    uint64
	wakeMu  sync.Mutex
	wakeGen atomic.Uint64
	cache   uint64 // VkPipelineCache

	faultMu sync.Mutex
	faults  [numFaultOps]fault
	armed   atomic.Bool // some fault is injected: the hot path checks only this
}

type fault struct {
	code  Result
	count int
}

// DeviceConfig configures NewDevice.
type DeviceConfig struct {
	// PipelineCache is initial pipeline-cache data (may be nil or stale: the
	// driver ignores data it does not recognise).
	PipelineCache []byte
	// Swapchain enables VK_KHR_swapchain (window presentation).
	Swapchain bool
	// Queue is the index, in the compute family, of the queue to submit
	// to: the device is created with Queue+1 queues of the family.
	Queue int
	// Transfer adds a transfer lane on queue 0 of the dedicated transfer
	// family, where the device has one (PhysicalDevice.TransferFamily).
	Transfer bool
	// SharedTransferLane adds a transfer lane on the compute queue itself,
	// with its own timeline semaphore, where Transfer adds none: a test
	// seam that runs the two-lane code on a device with one queue.
	SharedTransferLane bool
}

// NewDevice creates a logical device on physical device index with one
// compute queue and timeline semaphores enabled. Only what the device
// reports is requested: the timeline feature, robustBufferAccess where the
// device has it, and VK_EXT_calibrated_timestamps where it is listed.
// A panic inside vulkan-go comes back as a *PanicError.
func (in *Instance) NewDevice(index int, cfg DeviceConfig) (d *Device, err error) {
	defer recoverTo("new device", &err, nil)
	return in.newDevice(index, cfg)
}

func (in *Instance) newDevice(index int, cfg DeviceConfig) (*Device, error) {
	if index < 0 || index >= len(in.Devices) {
		return nil, errors.New("no such device")
	}
	p := in.Devices[index]
	if p.QueueFamily < 0 {
		return nil, errors.Join(ErrUnsupported, errors.New(p.Name+": no compute queue"))
	}
	if !p.Timeline {
		return nil, errors.Join(ErrUnsupported, errors.New(p.Name+": no Vulkan 1.2 timeline semaphores"))
	}
	if cfg.Queue < 0 || cfg.Queue >= p.QueueCount {
		return nil, fmt.Errorf("queue %d out of range: the compute family has %d", cfg.Queue, p.QueueCount)
	}
	var exts []string
	if p.Calibrated {
		exts = append(exts, cstr("VK_EXT_calibrated_timestamps"))
	}
	if cfg.Swapchain {
		if !p.Extensions[SwapchainExtension] {
			return nil, errors.Join(ErrUnsupported, errors.New(p.Name+": no "+SwapchainExtension))
		}
		exts = append(exts, cstr(SwapchainExtension))
	}
	transfer := cfg.Transfer && p.TransferFamily >= 0
	lanes := 1
	if transfer || cfg.SharedTransferLane {
		lanes = 2
	}
	hostReset := lanes > 1 && p.HostQueryReset
	feats := C.vkio_device_features(boolC(p.RobustBufferAccess), boolC(hostReset))
	if feats == nil {
		return nil, &CallError{Op: "vkCreateDevice(features)", Code: ErrorOutOfHostMemory}
	}
	defer C.free(feats)
	prio := make([]float32, cfg.Queue+1)
	for i := range prio {
		prio[i] = 1
	}
	qci := []vk.DeviceQueueCreateInfo{{
		SType:            vk.StructureTypeDeviceQueueCreateInfo,
		QueueFamilyIndex: uint32(p.QueueFamily),
		QueueCount:       uint32(len(prio)),
		PQueuePriorities: prio,
	}}
	if transfer {
		qci = append(qci, vk.DeviceQueueCreateInfo{
			SType:            vk.StructureTypeDeviceQueueCreateInfo,
			QueueFamilyIndex: uint32(p.TransferFamily),
			QueueCount:       1,
			PQueuePriorities: []float32{1},
		})
	}
	ci := &vk.DeviceCreateInfo{
		SType:                   vk.StructureTypeDeviceCreateInfo,
		PNext:                   feats,
		QueueCreateInfoCount:    uint32(len(qci)),
		PQueueCreateInfos:       qci,
		EnabledExtensionCount:   uint32(len(exts)),
		PpEnabledExtensionNames: exts,
	}
	var dev vk.Device
	r := vk.CreateDevice(p.pd, ci, nil, &dev)
	ci.Free()
	if err := check("vkCreateDevice", r); err != nil {
		return nil, err
	}
	d := &Device{Phys: p, inst: in, dev: dev, swapchain: cfg.Swapchain,
		RobustBufferAccess: C.vkio_device_features_robust(feats) != 0}
	var q vk.Queue
	vk.GetDeviceQueue(dev, uint32(p.QueueFamily), uint32(cfg.Queue), &q)
	d.queue = q
	d.families = []uint32{uint32(p.QueueFamily)}
	d.Lanes = []*Lane{{d: d, Index: 0, Mu: &d.QueueMu, Family: p.QueueFamily, queue: C.uintptr_t(h(q))}}
	switch {
	case transfer:
		var tq vk.Queue
		vk.GetDeviceQueue(dev, uint32(p.TransferFamily), 0, &tq)
		d.families = append(d.families, uint32(p.TransferFamily))
		d.Lanes = append(d.Lanes, &Lane{d: d, Index: 1, Mu: &d.transferMu, Family: p.TransferFamily, Transfer: true,
			queue: C.uintptr_t(h(tq))})
	case cfg.SharedTransferLane:
		d.Lanes = append(d.Lanes, &Lane{d: d, Index: 1, Mu: &d.QueueMu, Family: p.QueueFamily, Transfer: true,
			queue: C.uintptr_t(h(q))})
	}
	d.fns = (*C.vkio_fns)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vkio_fns{}))))
	cal := C.int(0)
	if p.Calibrated {
		cal = 1
	}
	if C.vkio_fns_load(as[C.VkInstance](h(in.inst)), as[C.VkDevice](h(dev)), cal, d.fns) == 0 {
		d.Destroy()
		return nil, errors.Join(ErrUnsupported, errors.New("vkGetDeviceProcAddr: missing Vulkan 1.2 entry points"))
	}
	if hostReset {
		d.HostQueryReset = C.vkio_fns_load_reset(as[C.VkInstance](h(in.inst)), d.fns) != 0
	}
	var sem C.uint64_t
	for _, l := range d.Lanes {
		if err := checkC("vkCreateSemaphore(timeline)", C.vkio_create_timeline(d.fns, 0, &sem)); err != nil {
			d.Destroy()
			return nil, err
		}
		l.timeline = uint64(sem)
	}
	if err := checkC("vkCreateSemaphore(wake)", C.vkio_create_timeline(d.fns, 0, &sem)); err != nil {
		d.Destroy()
		return nil, err
	}
	d.wake = uint64(sem)
	if err := d.createCache(cfg.PipelineCache); err != nil {
		d.Destroy()
		return nil, err
	}
	return d, nil
}

func (d *Device) createCache(data []byte) error {
	ci := &vk.PipelineCacheCreateInfo{SType: vk.StructureTypePipelineCacheCreateInfo}
	var cdata unsafe.Pointer
	if len(data) > 0 {
		cdata = C.CBytes(data)
		ci.InitialDataSize = uint(len(data))
		ci.PInitialData = cdata
	}
	var pc vk.PipelineCache
	r := vk.CreatePipelineCache(d.dev, ci, nil, &pc)
	ci.Free()
	if cdata != nil {
		C.free(cdata)
	}
	if err := check("vkCreatePipelineCache", r); err != nil {
		return err
	}
	d.cache = h(pc)
	return nil
}

// PipelineCacheData returns the pipeline cache's contents, for saving.
func (d *Device) PipelineCacheData() (data []byte, err error) {
	defer recoverTo("pipeline cache data", &err, nil)
	pc := as[vk.PipelineCache](d.cache)
	var n uint
	if err := check("vkGetPipelineCacheData", vk.GetPipelineCacheData(d.dev, pc, &n, nil)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	buf := C.malloc(C.size_t(n))
	defer C.free(buf)
	if err := check("vkGetPipelineCacheData", vk.GetPipelineCacheData(d.dev, pc, &n, buf)); err != nil {
		return nil, err
	}
	return C.GoBytes(buf, C.int(n)), nil
}

// WaitIdle waits until the device has finished all work, holding every
// queue lock (vkDeviceWaitIdle uses every queue).
func (d *Device) WaitIdle() error {
	d.LockQueues()
	defer d.UnlockQueues()
	return check("vkDeviceWaitIdle", vk.DeviceWaitIdle(d.dev))
}

// Destroy waits for the device to go idle and destroys it. Every object
// created from it must have been destroyed (the validation layer reports
// leaks here).
func (d *Device) Destroy() {
	if d.dev == nil {
		return
	}
	vk.DeviceWaitIdle(d.dev)
	if d.cache != 0 {
		vk.DestroyPipelineCache(d.dev, as[vk.PipelineCache](d.cache), nil)
		d.cache = 0
	}
	for _, l := range d.Lanes {
		if l.timeline != 0 {
			C.vkio_destroy_semaphore(d.fns, C.uint64_t(l.timeline))
			l.timeline = 0
		}
	}
	d.destroyWake()
	vk.DestroyDevice(d.dev, nil)
	d.dev = nil
	if d.fns != nil {
		C.free(unsafe.Pointer(d.fns))
		d.fns = nil
	}
}

// destroyWake destroys the wake semaphore under wakeMu, so that no Wake
// signals it meanwhile or after.
func (d *Device) destroyWake() {
	d.wakeMu.Lock()
	defer d.wakeMu.Unlock()
	if d.wake != 0 {
		C.vkio_destroy_semaphore(d.fns, C.uint64_t(d.wake))
		d.wake = 0
	}
}

// InjectFault makes the next count calls at seam op fail with code
// (count < 0: until cleared with count 0).
func (d *Device) InjectFault(op FaultOp, code Result, count int) {
	d.faultMu.Lock()
	defer d.faultMu.Unlock()
	d.faults[op] = fault{code: code, count: count}
	d.armed.Store(d.anyFaultLocked())
}

// FaultsLeft returns how many injected failures are left at seam op (< 0:
// until cleared).
func (d *Device) FaultsLeft(op FaultOp) int {
	d.faultMu.Lock()
	defer d.faultMu.Unlock()
	return d.faults[op].count
}

func (d *Device) anyFaultLocked() bool {
	for _, f := range d.faults {
		if f.count != 0 {
			return true
		}
	}
	return false
}

func (d *Device) fault(op FaultOp, name string) error {
	if !d.armed.Load() {
		return nil
	}
	d.faultMu.Lock()
	defer d.faultMu.Unlock()
	f := &d.faults[op]
	if f.count == 0 {
		return nil
	}
	if f.count > 0 {
		f.count--
		d.armed.Store(d.anyFaultLocked())
	}
	return &CallError{Op: name, Code: f.code, Injected: true}
}

// faultPanic panics, as vulkan-go does, if a FaultPanic is injected.
func (d *Device) faultPanic() {
	err := d.fault(FaultPanic, "vulkan-go")
	if err == nil {
		return
	}
	if err.(*CallError).Code == ErrorOutOfHostMemory {
		panic("memory alloc error: cannot allocate memory (injected)")
	}
	panic(fmt.Sprintf("vkx: injected panic (%s)", err.(*CallError).Code))
}

// SubmitLocked submits cmds on the compute lane (Lanes[0].SubmitLocked).
// The caller must hold QueueMu.
func (d *Device) SubmitLocked(cmds *Commands) (uint64, error) {
	return d.Lanes[0].SubmitLocked(cmds)
}

// fnsAddr is d.fns as an integer, for the per-submission shim calls: the
// table is C memory, so cgo need not check it for Go pointers on each call.
func (d *Device) fnsAddr() C.uintptr_t { return C.uintptr_t(uintptr(unsafe.Pointer(d.fns))) }

// Submit is SubmitLocked under QueueMu.
func (d *Device) Submit(cmds *Commands) (uint64, error) {
	return d.Lanes[0].Submit(cmds)
}

// Forever is the timeout of a wait that never times out: the driver is
// passed UINT64_MAX, which spares it a timer per wait (measurably cheaper
// on lavapipe in a VM, where arming a timer traps to the hypervisor).
const Forever time.Duration = 1<<63 - 1

// timeoutNs converts a wait's timeout for the driver.
func timeoutNs(timeout time.Duration) C.uint64_t {
	switch {
	case timeout == Forever:
		return ^C.uint64_t(0)
	case timeout < 0:
		return 0
	}
	return C.uint64_t(timeout)
}

// Wait is the compute lane's Wait.
func (d *Device) Wait(value uint64, timeout time.Duration) error {
	return d.Lanes[0].Wait(value, timeout)
}

// WakeTicket returns the value WaitWake must be given to be ended by the
// next Wake: take it before checking whatever Wake is called for, so that a
// Wake in between is not missed.
func (d *Device) WakeTicket() uint64 { return d.wakeGen.Load() + 1 }

// WaitWake is the compute lane's WaitWake. Several threads may wait at
// once; a Wake ends every wait whose ticket it reaches.
func (d *Device) WaitWake(value, ticket uint64, timeout time.Duration) (uint64, error) {
	return d.Lanes[0].WaitWake(value, ticket, timeout)
}

// Wake ends every WaitWake in progress (and any about to start with a ticket
// taken before it) by signalling the wake semaphore from the host. It may be
// called at any time, also during or after Destroy (a canceled task's
// callback can run late), when it does nothing.
func (d *Device) Wake() error {
	d.wakeMu.Lock()
	defer d.wakeMu.Unlock()
	if d.wake == 0 {
		return nil
	}
	g := d.wakeGen.Add(1)
	if err := d.fault(FaultWake, "vkSignalSemaphore(wake)"); err != nil {
		return err
	}
	return checkC("vkSignalSemaphore(wake)", C.vkio_signal(d.fnsAddr(), C.uint64_t(d.wake), C.uint64_t(g)))
}

// WaitCounter is the compute lane's WaitCounter.
func (d *Device) WaitCounter(value uint64, timeout time.Duration) (uint64, error) {
	return d.Lanes[0].WaitCounter(value, timeout)
}

// counterResult turns a wait-then-read result into the counter or an error.
func counterResult(res C.vkio_counter_result) (uint64, error) {
	if res.r == C.VK_TIMEOUT {
		return 0, &CallError{Op: "vkWaitSemaphores", Code: Timeout}
	}
	if err := checkC("vkWaitSemaphores", res.r); err != nil {
		return 0, err
	}
	return uint64(res.value), nil
}

// Completed is the compute lane's Completed.
func (d *Device) Completed() (uint64, error) {
	return d.Lanes[0].Completed()
}

// Calibrate reads the device's timestamp counter and CLOCK_MONOTONIC (ns)
// together with VK_EXT_calibrated_timestamps; maxDev is the driver's bound
// on the sampling deviation, in ns.
func (d *Device) Calibrate() (deviceTicks, hostNs, maxDev uint64, err error) {
	var dt, hn, md C.uint64_t
	if err := checkC("vkGetCalibratedTimestampsEXT", C.vkio_calibrate(d.fns, &dt, &hn, &md)); err != nil {
		return 0, 0, 0, err
	}
	return uint64(dt), uint64(hn), uint64(md), nil
}

// Buffer is a VkBuffer bound to its own VkDeviceMemory, mapped when the
// memory is host-visible and mapping was asked for.
type Buffer struct {
	d        *Device
	buf, mem uint64
	Size     uint64
	MemType  int
	// Mapped is the persistently mapped memory (nil when not mapped).
	Mapped []byte
}

// Buffer usage: storage, uniform, indirect and both transfer directions.
const bufferUsage = vk.BufferUsageStorageBufferBit | vk.BufferUsageUniformBufferBit |
	vk.BufferUsageIndirectBufferBit | vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit

// NewBuffer creates a buffer of size bytes in the memory type chosen by
// pick (given the allowed type bits), mapping it when pick says so.
// A panic inside vulkan-go comes back as a *PanicError.
func (d *Device) NewBuffer(size uint64, pick func(typeBits uint32) (index int, mapped bool)) (out *Buffer, err error) {
	var b *Buffer
	defer recoverTo("new buffer", &err, func() {
		if b != nil {
			b.Destroy()
		}
	})
	ci := &vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        vk.DeviceSize(size),
		Usage:       vk.BufferUsageFlags(bufferUsage),
		SharingMode: vk.SharingModeExclusive,
	}
	if d.Concurrent() {
		// Used by the compute and the transfer family alike, with no
		// ownership transfers: the timeline semaphores order the queues.
		ci.SharingMode = vk.SharingModeConcurrent
		ci.QueueFamilyIndexCount = uint32(len(d.families))
		ci.PQueueFamilyIndices = d.families
	}
	var buf vk.Buffer
	r := vk.CreateBuffer(d.dev, ci, nil, &buf)
	ci.Free()
	if err := check("vkCreateBuffer", r); err != nil {
		return nil, err
	}
	b = &Buffer{d: d, buf: h(buf), Size: size}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(d.dev, buf, &req)
	req.Deref()
	req.Free()
	t, mapped := pick(req.MemoryTypeBits)
	if t < 0 {
		b.Destroy()
		return nil, errors.Join(ErrUnsupported, errors.New("no suitable memory type"))
	}
	b.MemType = t
	if err := d.fault(FaultAlloc, "vkAllocateMemory"); err != nil {
		b.Destroy()
		return nil, err
	}
	ai := &vk.MemoryAllocateInfo{
		SType:           vk.StructureTypeMemoryAllocateInfo,
		AllocationSize:  req.Size,
		MemoryTypeIndex: uint32(t),
	}
	var mem vk.DeviceMemory
	r = vk.AllocateMemory(d.dev, ai, nil, &mem)
	ai.Free()
	if err := check("vkAllocateMemory", r); err != nil {
		b.Destroy()
		return nil, err
	}
	b.mem = h(mem)
	if err := check("vkBindBufferMemory", vk.BindBufferMemory(d.dev, buf, mem, 0)); err != nil {
		b.Destroy()
		return nil, err
	}
	if mapped {
		var p unsafe.Pointer
		if err := check("vkMapMemory", vk.MapMemory(d.dev, mem, 0, vk.DeviceSize(size), 0, &p)); err != nil {
			b.Destroy()
			return nil, err
		}
		b.Mapped = unsafe.Slice((*byte)(p), size)
	}
	return b, nil
}

// Destroy unmaps, destroys and frees the buffer.
func (b *Buffer) Destroy() {
	d := b.d
	if b.Mapped != nil {
		vk.UnmapMemory(d.dev, as[vk.DeviceMemory](b.mem))
		b.Mapped = nil
	}
	if b.buf != 0 {
		vk.DestroyBuffer(d.dev, as[vk.Buffer](b.buf), nil)
		b.buf = 0
	}
	if b.mem != 0 {
		vk.FreeMemory(d.dev, as[vk.DeviceMemory](b.mem), nil)
		b.mem = 0
	}
}

// RawBuffer creates a VkBuffer of size bytes with no memory and destroys it
// again, without vkio's argument checks. Tests use size 0 to provoke a
// validation error on purpose.
func (d *Device) RawBuffer(size uint64) (err error) {
	defer recoverTo("raw buffer", &err, nil)
	ci := &vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        vk.DeviceSize(size),
		Usage:       vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit),
		SharingMode: vk.SharingModeExclusive,
	}
	var buf vk.Buffer
	r := vk.CreateBuffer(d.dev, ci, nil, &buf)
	ci.Free()
	if err := check("vkCreateBuffer", r); err != nil {
		return err
	}
	if buf != nil {
		vk.DestroyBuffer(d.dev, buf, nil)
	}
	return nil
}

// boolC converts a Go bool to a C int (1 or 0).
func boolC(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
