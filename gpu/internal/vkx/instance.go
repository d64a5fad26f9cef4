//go:build linux && cgo

package vkx

/*
#include "shim.h"
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Message is one message from the validation layer (debug report).
type Message struct {
	Error   bool   // VK_DEBUG_REPORT_ERROR_BIT_EXT
	Warning bool   // a warning or performance warning
	Layer   string // layer prefix, e.g. "Validation"
	Code    int32
	Text    string
}

// String formats the message with its layer and severity.
func (m Message) String() string {
	sev := "warning"
	if m.Error {
		sev = "error"
	}
	return fmt.Sprintf("[%s %s] %s", m.Layer, sev, m.Text)
}

// InstanceConfig configures NewInstance.
type InstanceConfig struct {
	AppName string
	// Validation enables VK_LAYER_KHRONOS_validation with a debug-report
	// callback that hands every error and warning to OnMessage.
	Validation bool
	// SyncValidation also enables synchronization validation.
	SyncValidation bool
	OnMessage      func(Message)
	// Extensions are further instance extensions to enable, such as the
	// window-system ones (VK_KHR_surface, VK_KHR_xcb_surface) a window
	// library asks for. Each must be listed by the loader.
	Extensions []string
}

// Instance is one user's lease of a VkInstance of its configuration (see
// NewInstance): while leased, the instance's messages go to this user alone.
type Instance struct {
	*shared
	released bool
}

// shared is a VkInstance and, with validation, its debug-report callback. It
// lives until the process exits, leased to one Instance at a time.
type shared struct {
	key      string // its configuration
	inst     vk.Instance
	callback uint64
	userData unsafe.Pointer    // C memory holding id, for the callback
	id       uint64            // under sinkMu
	sink     func(Message)     // the current lessee's, under sinkMu
	Devices  []*PhysicalDevice // as enumerated when it was created
	Layers   []string
}

var (
	instMu sync.Mutex
	idle   = map[string][]*shared{} // instances not leased, by configuration, under instMu

	// Debug-report routing: vulkan-go keeps one process-global Go callback,
	// so each VkInstance's callback carries its shared id in pUserData.
	sinkMu sync.Mutex
	byID   = map[uint64]*shared{}
	nextID uint64
)

// sinkOf returns the message sink of the instance with id, if any.
func sinkOf(id uint64) func(Message) {
	sinkMu.Lock()
	defer sinkMu.Unlock()
	if s := byID[id]; s != nil {
		return s.sink
	}
	return nil
}

// setSink sets the message sink of s (nil: none).
func (s *shared) setSink(fn func(Message)) {
	sinkMu.Lock()
	defer sinkMu.Unlock()
	s.sink = fn
}

// debugCallback hands a message to the sink of the instance's lessee.
func debugCallback(flags vk.DebugReportFlags, _ vk.DebugReportObjectType, _ uint64, _ uint, code int32, layer, msg string, user unsafe.Pointer) vk.Bool32 {
	if user == nil {
		return vk.False
	}
	id := *(*uint64)(user)
	if fn := sinkOf(id); fn != nil {
		fn(Message{
			Error:   flags&vk.DebugReportFlags(vk.DebugReportErrorBit) != 0,
			Warning: flags&vk.DebugReportFlags(vk.DebugReportWarningBit|vk.DebugReportPerformanceWarningBit) != 0,
			Layer:   strings.Clone(layer),
			Code:    code,
			Text:    strings.Clone(msg),
		})
	}
	return vk.False
}

// HasLayer reports whether the loader knows the instance layer name.
func HasLayer(name string) (bool, error) {
	if err := Init(); err != nil {
		return false, err
	}
	var n C.uint32_t
	if err := check("vkEnumerateInstanceLayerProperties", vk.Result(C.vkio_enumerate_layers(&n, nil))); err != nil {
		return false, err
	}
	props := make([]C.VkLayerProperties, n)
	if n > 0 {
		if err := check("vkEnumerateInstanceLayerProperties", vk.Result(C.vkio_enumerate_layers(&n, &props[0]))); err != nil {
			return false, err
		}
	}
	for i := range props[:n] {
		if C.GoString(&props[i].layerName[0]) == name {
			return true, nil
		}
	}
	return false, nil
}

// ValidationLayer is the Khronos validation layer's name.
const ValidationLayer = "VK_LAYER_KHRONOS_validation"

// NewInstance leases a Vulkan 1.2 instance of configuration cfg
// (application name, validation, extensions): an idle one made earlier, or a
// new one, whose devices are then enumerated. With validation, cfg.OnMessage
// receives the layer's messages until Destroy; one lessee at a time, so
// devices open at once do not see each other's messages.
//
// VkInstances are never destroyed, only returned for the next lease: NVIDIA's
// driver fails vkCreateInstance with VK_ERROR_INCOMPATIBLE_DRIVER after 30
// create and destroy cycles in one process (580.159.04 on an H200, with and
// without the validation layer), and creating one with validation takes tens
// of milliseconds. A process makes as many instances of a configuration as
// it has had devices of it open at once. Devices are still created and
// destroyed per use, and the layer reports their leaked objects when each is
// destroyed.
func NewInstance(cfg InstanceConfig) (*Instance, error) {
	exts := slices.Compact(slices.Sorted(slices.Values(cfg.Extensions)))
	key := fmt.Sprintf("%q %v %v %q", cfg.AppName, cfg.Validation, cfg.Validation && cfg.SyncValidation, exts)
	instMu.Lock() // also serializes newShared: vk.InitInstance sets vulkan-go's globals
	defer instMu.Unlock()
	var s *shared
	if n := len(idle[key]); n > 0 {
		s = idle[key][n-1]
		idle[key] = idle[key][:n-1]
	}
	if s == nil {
		var err error
		if s, err = newShared(cfg); err != nil {
			return nil, err
		}
		s.key = key
	}
	s.setSink(cfg.OnMessage)
	return &Instance{shared: s}, nil
}

// Destroy ends the lease: the message sink stops receiving, and the
// VkInstance waits, idle, for the next NewInstance of its configuration.
// Devices made through this handle must be destroyed first.
func (in *Instance) Destroy() {
	if in.released {
		return
	}
	in.released = true
	in.setSink(nil)
	instMu.Lock()
	defer instMu.Unlock()
	idle[in.key] = append(idle[in.key], in.shared)
}

// A panic inside vulkan-go comes back as a *PanicError, with what was made
// destroyed.
func newShared(cfg InstanceConfig) (out *shared, err error) {
	if err := Init(); err != nil {
		return nil, err
	}
	in := &shared{}
	defer recoverTo("new instance", &err, in.destroy)
	var layers, exts []string
	if cfg.Validation {
		ok, err := HasLayer(ValidationLayer)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &CallError{Op: "vkCreateInstance(" + ValidationLayer + ")", Code: ErrorLayerNotPresent}
		}
		layers = append(layers, cstr(ValidationLayer))
		exts = append(exts, cstr("VK_EXT_debug_report"))
		in.Layers = []string{ValidationLayer}
		if cfg.SyncValidation {
			exts = append(exts, cstr("VK_EXT_validation_features"))
		}
	}
	for _, e := range cfg.Extensions {
		if !slices.Contains(exts, cstr(e)) {
			exts = append(exts, cstr(e))
		}
	}
	app := &vk.ApplicationInfo{
		SType:            vk.StructureTypeApplicationInfo,
		PApplicationName: cstr(cfg.AppName),
		PEngineName:      cstr("vkio"),
		ApiVersion:       InstanceAPIVersion,
	}
	ci := &vk.InstanceCreateInfo{
		SType:                   vk.StructureTypeInstanceCreateInfo,
		PApplicationInfo:        app,
		EnabledLayerCount:       uint32(len(layers)),
		PpEnabledLayerNames:     layers,
		EnabledExtensionCount:   uint32(len(exts)),
		PpEnabledExtensionNames: exts,
	}
	var features unsafe.Pointer
	if cfg.Validation && cfg.SyncValidation {
		features = C.vkio_validation_features()
		ci.PNext = features
	}
	var inst vk.Instance
	r := vk.CreateInstance(ci, nil, &inst)
	ci.Free()
	app.Free()
	if features != nil {
		C.free(features)
	}
	if err := check("vkCreateInstance", r); err != nil {
		return nil, err
	}
	if err := vk.InitInstance(inst); err != nil {
		vk.DestroyInstance(inst, nil)
		return nil, fmt.Errorf("vulkan-go InitInstance: %w", err)
	}
	in.inst = inst
	if cfg.Validation {
		if err := in.installCallback(); err != nil {
			in.destroy()
			return nil, err
		}
	}
	if err := in.enumerate(); err != nil {
		in.destroy()
		return nil, err
	}
	return in, nil
}

// register gives in an id by which the debug callback finds its sink.
func (in *shared) register() {
	sinkMu.Lock()
	defer sinkMu.Unlock()
	nextID++
	in.id = nextID
	byID[in.id] = in
}

// unregister forgets in's id.
func (in *shared) unregister() {
	sinkMu.Lock()
	defer sinkMu.Unlock()
	delete(byID, in.id)
}

func (in *shared) installCallback() error {
	in.register()
	in.userData = C.malloc(8)
	*(*uint64)(in.userData) = in.id
	ci := &vk.DebugReportCallbackCreateInfo{
		SType:       vk.StructureTypeDebugReportCallbackCreateInfo,
		Flags:       vk.DebugReportFlags(vk.DebugReportErrorBit | vk.DebugReportWarningBit | vk.DebugReportPerformanceWarningBit),
		PfnCallback: debugCallback,
		PUserData:   in.userData,
	}
	var cb vk.DebugReportCallback
	r := vk.CreateDebugReportCallback(in.inst, ci, nil, &cb)
	ci.Free()
	if err := check("vkCreateDebugReportCallbackEXT", r); err != nil {
		return err
	}
	in.callback = h(cb)
	return nil
}

// destroy destroys the callback and the instance of a newShared that failed
// part way.
func (in *shared) destroy() {
	if in.inst == nil {
		return
	}
	if in.callback != 0 {
		vk.DestroyDebugReportCallback(in.inst, as[vk.DebugReportCallback](in.callback), nil)
		in.callback = 0
	}
	vk.DestroyInstance(in.inst, nil)
	in.inst = nil
	if in.userData != nil {
		in.unregister()
		C.free(in.userData)
		in.userData = nil
	}
}

// DebugMessage injects a message through the debug-report machinery, as the
// layer would (vkDebugReportMessageEXT); tests use it to check the gate.
func (in *Instance) DebugMessage(text string) {
	if in.callback == 0 {
		return
	}
	vk.DebugReportMessage(in.inst, vk.DebugReportFlags(vk.DebugReportErrorBit), vk.DebugReportObjectTypeUnknown, 0, 0, 0, cstr("vkio"), cstr(text))
}

// InstanceAPIVersion is the apiVersion every instance is created with
// (VkApplicationInfo): the highest Vulkan version vkio uses, whatever the
// device reports (Vulkan 1.2: timeline semaphores are core there).
const InstanceAPIVersion uint32 = 1<<22 | 2<<12 // VK_MAKE_VERSION(1, 2, 0)

// Device types, as VkPhysicalDeviceType.
const (
	TypeOther      = 0
	TypeIntegrated = 1
	TypeDiscrete   = 2
	TypeVirtual    = 3
	TypeCPU        = 4
)

// Memory property flags.
const (
	MemDeviceLocal  = 0x1
	MemHostVisible  = 0x2
	MemHostCoherent = 0x4
	MemHostCached   = 0x8
)

// Limits are the device limits vkio checks against.
type Limits struct {
	MaxWorkGroupCount               [3]uint32
	MaxWorkGroupSize                [3]uint32
	MaxWorkGroupInvocations         uint32
	MaxPushConstantsSize            uint32
	MaxStorageBufferRange           uint32
	MaxUniformBufferRange           uint32
	MaxBoundDescriptorSets          uint32
	MaxSharedMemorySize             uint32
	MinStorageBufferOffsetAlignment uint64
	MinUniformBufferOffsetAlignment uint64
	NonCoherentAtomSize             uint64
}

// MemoryType is one VkMemoryType.
type MemoryType struct {
	Flags uint32
	Heap  int
}

// PhysicalDevice describes one VkPhysicalDevice.
type PhysicalDevice struct {
	Index         int
	Name          string
	Type          int
	APIVersion    uint32
	DriverVersion uint32
	// DriverName and DriverInfo are VkPhysicalDeviceDriverProperties'
	// (Vulkan 1.2; "" on older devices).
	DriverName string
	DriverInfo string
	VendorID   uint32
	DeviceID   uint32
	Limits     Limits
	// QueueFamily is the first family with compute support, or -1;
	// QueueCount is its number of queues.
	QueueFamily        int
	QueueCount         int
	TimestampValidBits uint32
	// TransferFamily is the first dedicated transfer family (transfer
	// support, neither compute nor graphics), or -1; TransferCount is its
	// number of queues and TransferTimestampBits its timestampValidBits.
	TransferFamily        int
	TransferCount         int
	TransferTimestampBits uint32
	TimestampPeriod       float32
	Timeline              bool // timeline semaphores supported
	// Calibrated reports VK_EXT_calibrated_timestamps with CLOCK_MONOTONIC.
	Calibrated  bool
	Extensions  map[string]bool
	MemoryTypes []MemoryType
	HeapSizes   []uint64

	// RobustBufferAccess reports the robustBufferAccess feature, which
	// NewDevice enables wherever it is reported.
	RobustBufferAccess bool
	// HostQueryReset reports the hostQueryReset feature (Vulkan 1.2),
	// which NewDevice enables with a transfer lane: a transfer queue cannot
	// reset timestamp queries itself.
	HostQueryReset bool

	pd vk.PhysicalDevice
}

// APIString formats APIVersion as major.minor.patch.
func (p *PhysicalDevice) APIString() string {
	v := p.APIVersion
	return fmt.Sprintf("%d.%d.%d", v>>22, (v>>12)&0x3ff, v&0xfff)
}

func (in *shared) enumerate() error {
	var n uint32
	if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.inst, &n, nil)); err != nil {
		return err
	}
	pds := make([]vk.PhysicalDevice, n)
	if n > 0 {
		if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.inst, &n, pds)); err != nil {
			return err
		}
	}
	for i, pd := range pds[:n] {
		in.Devices = append(in.Devices, in.describe(i, pd))
	}
	return nil
}

func (in *shared) describe(i int, pd vk.PhysicalDevice) *PhysicalDevice {
	p := &PhysicalDevice{Index: i, pd: pd, QueueFamily: -1, TransferFamily: -1, Extensions: map[string]bool{}}
	var props vk.PhysicalDeviceProperties
	vk.GetPhysicalDeviceProperties(pd, &props)
	props.Deref()
	props.Limits.Deref()
	p.Name = gostr(props.DeviceName[:])
	p.Type = int(props.DeviceType)
	p.APIVersion = props.ApiVersion
	p.DriverVersion = props.DriverVersion
	p.VendorID = props.VendorID
	p.DeviceID = props.DeviceID
	l := &props.Limits
	p.Limits = Limits{
		MaxWorkGroupCount:               l.MaxComputeWorkGroupCount,
		MaxWorkGroupSize:                l.MaxComputeWorkGroupSize,
		MaxWorkGroupInvocations:         l.MaxComputeWorkGroupInvocations,
		MaxPushConstantsSize:            l.MaxPushConstantsSize,
		MaxStorageBufferRange:           l.MaxStorageBufferRange,
		MaxUniformBufferRange:           l.MaxUniformBufferRange,
		MaxBoundDescriptorSets:          l.MaxBoundDescriptorSets,
		MaxSharedMemorySize:             l.MaxComputeSharedMemorySize,
		MinStorageBufferOffsetAlignment: uint64(l.MinStorageBufferOffsetAlignment),
		MinUniformBufferOffsetAlignment: uint64(l.MinUniformBufferOffsetAlignment),
		NonCoherentAtomSize:             uint64(l.NonCoherentAtomSize),
	}
	p.TimestampPeriod = l.TimestampPeriod
	props.Free()

	cinst := as[C.VkInstance](h(in.inst))
	cpd := as[C.VkPhysicalDevice](h(pd))
	var qn C.uint32_t
	C.vkio_queue_families(cinst, cpd, &qn, nil)
	qfs := make([]C.VkQueueFamilyProperties, qn)
	if qn > 0 {
		C.vkio_queue_families(cinst, cpd, &qn, &qfs[0])
	}
	for qi := range qfs[:qn] {
		if qfs[qi].queueFlags&C.VK_QUEUE_COMPUTE_BIT != 0 && qfs[qi].queueCount > 0 {
			p.QueueFamily = qi
			p.QueueCount = int(qfs[qi].queueCount)
			p.TimestampValidBits = uint32(qfs[qi].timestampValidBits)
			break
		}
	}
	for qi := range qfs[:qn] {
		const other = C.VK_QUEUE_COMPUTE_BIT | C.VK_QUEUE_GRAPHICS_BIT
		if f := qfs[qi].queueFlags; f&C.VK_QUEUE_TRANSFER_BIT != 0 && f&other == 0 && qfs[qi].queueCount > 0 {
			p.TransferFamily = qi
			p.TransferCount = int(qfs[qi].queueCount)
			p.TransferTimestampBits = uint32(qfs[qi].timestampValidBits)
			break
		}
	}

	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	mp.Deref()
	for t := 0; t < int(mp.MemoryTypeCount); t++ {
		mp.MemoryTypes[t].Deref()
		p.MemoryTypes = append(p.MemoryTypes, MemoryType{Flags: uint32(mp.MemoryTypes[t].PropertyFlags), Heap: int(mp.MemoryTypes[t].HeapIndex)})
	}
	for hi := 0; hi < int(mp.MemoryHeapCount); hi++ {
		mp.MemoryHeaps[hi].Deref()
		p.HeapSizes = append(p.HeapSizes, uint64(mp.MemoryHeaps[hi].Size))
	}
	mp.Free()

	var en C.uint32_t
	if C.vkio_enumerate_device_extensions(cinst, cpd, &en, nil) == C.VK_SUCCESS && en > 0 {
		eps := make([]C.VkExtensionProperties, en)
		if C.vkio_enumerate_device_extensions(cinst, cpd, &en, &eps[0]) == C.VK_SUCCESS {
			for k := range eps[:en] {
				p.Extensions[C.GoString(&eps[k].extensionName[0])] = true
			}
		}
	}
	p.RobustBufferAccess = C.vkio_robust_buffer_access_supported(cinst, cpd) != 0
	if p.APIVersion >= vk.MakeVersion(1, 2, 0) {
		p.Timeline = C.vkio_timeline_supported(cinst, cpd) != 0
		p.HostQueryReset = C.vkio_host_query_reset_supported(cinst, cpd) != 0
		var name [C.VK_MAX_DRIVER_NAME_SIZE]C.char
		var info [C.VK_MAX_DRIVER_INFO_SIZE]C.char
		if C.vkio_driver_properties(cinst, cpd, &name[0], &info[0]) != 0 {
			p.DriverName = C.GoString(&name[0])
			p.DriverInfo = C.GoString(&info[0])
		}
	}
	if p.Extensions["VK_EXT_calibrated_timestamps"] {
		const device, monotonic = 0, 1 // VkTimeDomainEXT
		bits := uint32(C.vkio_time_domains(cinst, cpd))
		p.Calibrated = bits&(1<<device) != 0 && bits&(1<<monotonic) != 0
	}
	return p
}
