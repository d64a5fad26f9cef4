package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/gpu/internal/vkx"
)

// DeviceType is the kind of a physical device.
type DeviceType int

// Device types, as Vulkan reports them.
const (
	Other      DeviceType = vkx.TypeOther
	Integrated DeviceType = vkx.TypeIntegrated
	Discrete   DeviceType = vkx.TypeDiscrete
	Virtual    DeviceType = vkx.TypeVirtual
	CPU        DeviceType = vkx.TypeCPU
)

// String names the device type.
func (t DeviceType) String() string {
	switch t {
	case Integrated:
		return "integrated"
	case Discrete:
		return "discrete"
	case Virtual:
		return "virtual"
	case CPU:
		return "cpu"
	}
	return "other"
}

// rank orders device types for automatic selection: discrete first, then
// integrated, virtual, CPU (lavapipe), other.
func (t DeviceType) rank() int {
	switch t {
	case Discrete:
		return 0
	case Integrated:
		return 1
	case Virtual:
		return 2
	case CPU:
		return 3
	}
	return 4
}

// Limits are the device limits vkio checks requests against.
type Limits struct {
	MaxWorkGroupCount       [3]uint32
	MaxWorkGroupSize        [3]uint32
	MaxWorkGroupInvocations uint32
	MaxPushConstantsSize    uint32
	MaxStorageBufferRange   uint32
	MaxUniformBufferRange   uint32
	MaxSharedMemorySize     uint32
}

// DeviceInfo describes a physical device.
type DeviceInfo struct {
	Index      int
	Name       string
	Type       DeviceType
	APIVersion string // "major.minor.patch"
	// Driver and DriverInfo are the driver's name and version text, as the
	// driver reports them ("NVIDIA", "580.159.04"; "llvmpipe", "Mesa 22.3.6
	// (LLVM 15.0.6)"); "" on a Vulkan 1.0/1.1 device.
	Driver     string
	DriverInfo string
	VendorID   uint32
	DeviceID   uint32
	Limits     Limits
	// Usable is false when vkio cannot drive the device (no compute queue,
	// or no Vulkan 1.2 timeline semaphores); Reason says why.
	Usable bool
	Reason string
	// TimestampPeriod is nanoseconds per timestamp tick.
	TimestampPeriod float64
	// Calibrated reports VK_EXT_calibrated_timestamps with CLOCK_MONOTONIC.
	Calibrated bool
	// HostVisibleDeviceLocal reports a memory type that is both device-local
	// and host-visible (unified memory, lavapipe): device-local buffers are
	// then mapped directly unless Options.ForceStaging is set.
	HostVisibleDeviceLocal bool
	// RobustBufferAccess reports the robustBufferAccess feature. Open
	// enables it wherever it is reported: a kernel's out-of-bounds buffer
	// accesses then stay inside the bound buffer (reads give values from it
	// or zero; writes outside it are discarded), so an untrusted kernel
	// cannot reach other memory through its bindings.
	RobustBufferAccess bool
	// ComputeQueues is the number of queues of the compute family (the
	// queue family vkio submits kernels to): Options.Queue picks one of
	// them, and several Devices opened on different queues of one
	// physical device run side by side. 0 when there is no compute family.
	ComputeQueues int
	// TransferQueues is the number of queues of a dedicated transfer
	// family (transfer support, neither compute nor graphics), 0 when the
	// device has none (lavapipe). With one, Options.TransferQueue gives
	// staging copies and transfer batches their own queue, beside the
	// kernels'.
	TransferQueues int
}

// String formats the device as "#index name (type, Vulkan version)".
func (i DeviceInfo) String() string {
	return fmt.Sprintf("#%d %s (%s, Vulkan %s)", i.Index, i.Name, i.Type, i.APIVersion)
}

func infoOf(p *vkx.PhysicalDevice) DeviceInfo {
	l := p.Limits
	in := DeviceInfo{
		Index:      p.Index,
		Name:       p.Name,
		Type:       DeviceType(p.Type),
		APIVersion: p.APIString(),
		Driver:     p.DriverName,
		DriverInfo: p.DriverInfo,
		VendorID:   p.VendorID,
		DeviceID:   p.DeviceID,
		Limits: Limits{
			MaxWorkGroupCount:       l.MaxWorkGroupCount,
			MaxWorkGroupSize:        l.MaxWorkGroupSize,
			MaxWorkGroupInvocations: l.MaxWorkGroupInvocations,
			MaxPushConstantsSize:    l.MaxPushConstantsSize,
			MaxStorageBufferRange:   l.MaxStorageBufferRange,
			MaxUniformBufferRange:   l.MaxUniformBufferRange,
			MaxSharedMemorySize:     l.MaxSharedMemorySize,
		},
		Usable:          true,
		TimestampPeriod: float64(p.TimestampPeriod),
		Calibrated:      p.Calibrated,
	}
	in.RobustBufferAccess = p.RobustBufferAccess
	if p.QueueFamily >= 0 {
		in.ComputeQueues = p.QueueCount
	}
	if p.TransferFamily >= 0 {
		in.TransferQueues = p.TransferCount
	}
	for _, mt := range p.MemoryTypes {
		if mt.Flags&(vkx.MemDeviceLocal|vkx.MemHostVisible|vkx.MemHostCoherent) == vkx.MemDeviceLocal|vkx.MemHostVisible|vkx.MemHostCoherent {
			in.HostVisibleDeviceLocal = true
		}
	}
	switch {
	case p.QueueFamily < 0:
		in.Usable, in.Reason = false, "no compute queue"
	case !p.Timeline:
		in.Usable, in.Reason = false, "no Vulkan 1.2 timeline semaphores"
	}
	return in
}

// Message is one message of the Vulkan validation layer.
type Message struct {
	Error bool   // an error (otherwise a warning or performance warning)
	Layer string // the reporting layer's prefix
	Text  string
}

// String formats the message with its layer and severity.
func (m Message) String() string {
	sev := "warning"
	if m.Error {
		sev = "error"
	}
	return "[" + m.Layer + " " + sev + "] " + m.Text
}

// Options configure Open. The zero value picks the best device without
// validation and logs nothing.
//
// Open reads no environment variables: everything comes from Options.
// (Earlier versions of Open fell back to VKIO_DEVICE for Device and turned
// Validation on when VKIO_VALIDATION=1; a program that wants those variables
// asks for them with OptionsFromEnv, as the vkdemo CLI does.)
type Options struct {
	// Device selects the device: "" for automatic (discrete > integrated >
	// virtual > CPU), a decimal index into Devices(), or a case-insensitive
	// substring of the device name.
	Device string
	// Validation enables VK_LAYER_KHRONOS_validation. Messages are
	// recorded (see Device.Messages and Device.CheckValidation), passed to
	// OnMessage and logged to Logger.
	Validation bool
	// SyncValidation adds the layer's synchronization validation.
	SyncValidation bool
	// OnMessage, if set, receives each validation message as it arrives
	// (from whatever thread the driver reports it on).
	OnMessage func(Message)
	// ForceStaging makes DeviceLocal buffers unmapped even when their
	// memory is host-visible, so uploads and downloads go through staging
	// buffers and copies, as on a discrete GPU.
	ForceStaging bool
	// PipelineCache names a file holding the Vulkan pipeline cache: read at
	// Open if it exists, written back (atomically) at Close. Processes
	// sharing it take a lock (flock) on PATH.lock: shared to read, exclusive
	// to save; Close fails with ErrTimeout, saving nothing, when another
	// holds it for 10 s.
	PipelineCache string
	// WaitTimeout bounds every wait for a submission; a submission still
	// running after it resolves with ErrTimeout (the work itself stays
	// tracked). 0 means no bound.
	WaitTimeout time.Duration
	// AppName is reported to the driver.
	AppName string
	// Logger, if not nil, receives the device's log records: the device
	// chosen at Open (Info), a pipeline cache that could not be read (Warn)
	// and each validation message (Error or Warn). Nil logs nothing; the
	// package never writes to the default logger.
	Logger *slog.Logger
	// Queue is the index of the queue of the device's compute family
	// that the Device submits to (0 to DeviceInfo.ComputeQueues-1): the
	// VkDevice is created with Queue+1 queues of the family and uses the
	// last. Devices opened on different queues of one physical device
	// submit independently (a device set gives each queue its own
	// Device). Out of range, Open fails with ErrInvalid.
	Queue int
	// TransferQueue also opens the device's dedicated transfer queue,
	// where it has one (DeviceInfo.TransferQueues > 0): transfer batches
	// (NewTransferBatch) and staged uploads and downloads then run on it,
	// beside the kernels on the compute queue, and buffers are shared by
	// both queue families. Where there is none it changes nothing: such
	// work runs on the compute queue. Device.TransferQueue reports which.
	TransferQueue bool

	// sharedTransfer (tests only) opens a transfer lane on the compute
	// queue itself, with its own timeline semaphore, where TransferQueue
	// opens no queue: the two-lane code then runs on lavapipe.
	sharedTransfer bool

	// WindowExtensions are the instance extensions a window system needs
	// to make Vulkan surfaces (VK_KHR_surface and, on X11,
	// VK_KHR_xcb_surface or VK_KHR_xlib_surface), as the window library
	// reports them (GLFW: glfw.GetRequiredInstanceExtensions). When set, the
	// instance enables them and the device enables VK_KHR_swapchain, so
	// that NewSwapchain can present to a window; when empty (compute only)
	// neither is enabled. See NewSwapchain.
	WindowExtensions []string
}

// OptionsFromEnv returns Options set from the environment, for programs
// that let it configure the device (package gpu itself reads no
// environment):
//
//   - VKIO_DEVICE sets Device (an index or a name substring, as Device
//     takes it);
//   - VKIO_VALIDATION=1 sets Validation (any other value leaves it off).
//
// Everything else is the zero value; set the other fields on the result.
func OptionsFromEnv() Options {
	return Options{
		Device:     strings.TrimSpace(os.Getenv("VKIO_DEVICE")),
		Validation: os.Getenv("VKIO_VALIDATION") == "1",
	}
}

// Devices lists the physical devices the Vulkan loader reports.
func Devices() ([]DeviceInfo, error) {
	in, err := vkx.NewInstance(vkx.InstanceConfig{AppName: "vkio"})
	if err != nil {
		return nil, wrap("devices", err)
	}
	defer in.Destroy()
	var out []DeviceInfo
	for _, p := range in.Devices {
		out = append(out, infoOf(p))
	}
	return out, nil
}

// Device is an open Vulkan device with one compute queue (Options.Queue)
// and, with Options.TransferQueue, the dedicated transfer queue. Its
// methods are safe for concurrent use. Close it when done: Close waits for submitted
// work, destroys every object still open and, with validation, lets the
// layer report anything leaked.
type Device struct {
	opts Options
	inst *vkx.Instance
	vd   *vkx.Device
	info DeviceInfo

	msgMu   sync.Mutex
	msgs    []Message
	msgRead int

	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	lost   error
	// lanes are the device's submission lanes, each with its submissions
	// in timeline order, tracked until complete: the compute lane, then
	// the transfer lane (xfer) if one is open.
	lanes []*lane
	xfer  *lane
	// compMask is the set of lanes (bit i: lanes[i]) whose timelines the
	// completion goroutine's current wait covers, while compWaiting; a
	// submission to a lane outside it wakes the wait (two lanes only).
	compMask    uint8
	compWaiting bool
	// finishing counts submissions taken off pending whose finish has not
	// returned yet; reapDone waits for it to drop to 0 (d.cond).
	finishing int
	live      map[closer]struct{}
	running   bool          // the completion goroutine has been started
	stopped   chan struct{} // closed when the completion goroutine exits

	// users counts goroutines using the VkDevice outside Close's own steps:
	// making an object, recording a batch, destroying an object whose own
	// Close claimed it (see claim), reading the timeline in reapDone,
	// presenting. Close sets gone and takes the live objects in one step,
	// then waits for users to leave before it destroys anything; nobody
	// enters after gone. Both under mu; leave signals cond.
	users int
	gone  bool

	// closing is set first thing in Close; inline counts goroutines waiting
	// in the driver on the Blocking path (waitInline), which Close lets
	// finish before it destroys the device they wait on (the last to leave
	// signals cond once closing is set).
	closing atomic.Bool
	inline  atomic.Int32
	// closed when Close has returned; a concurrent second Close waits for it.
	closeDone chan struct{}

	clock clock

	// wakeOwed: a signal of the wake semaphore failed and no later one has
	// succeeded yet; wakeRetrying: retryWake runs (wakers counts it);
	// wakeDone: the device is destroyed, no retry starts. All under mu.
	wakeOwed, wakeRetrying, wakeDone bool
	wakers                           sync.WaitGroup

	// lostFlag mirrors lost != nil, for readers that hold another lock
	// (a batch's or a buffer's) and must not take mu.
	lostFlag atomic.Bool

	// faults is the fault armed by InjectFault, if any.
	faults faultPlan

	// testHooks are set by this package's tests only, before the device
	// is used.
	testHooks testHooks
}

// testHooks are the device's test seams.
type testHooks struct {
	// enqueued, if set, runs in enqueue once b is marked in flight and its
	// buffers are in use, before it is submitted.
	enqueued func(b *Batch)
	// submitted, if set, runs on a device with two lanes after each
	// submission (under its lane's queue lock): b was submitted to lane
	// with timeline value, first waiting for waits on the GPU.
	submitted func(b *Batch, lane int, value uint64, waits waitSet)
}

// lane is one of the device's submission lanes (a queue and its timeline
// semaphore, vkx.Lane) with its pending submissions.
type lane struct {
	vl   *vkx.Lane
	name string // "compute" or "transfer": Completion.Queue
	bit  uint8  // 1 << index
	// pending are the lane's submissions in timeline order, tracked until
	// complete (d.mu).
	pending []*pending
}

type closer interface{ destroy() }

// Open opens a device.
func Open(opts Options) (*Device, error) {
	d := &Device{opts: opts, live: map[closer]struct{}{}, closeDone: make(chan struct{})}
	d.cond = sync.NewCond(&d.mu)
	cfg := vkx.InstanceConfig{AppName: opts.AppName, Validation: opts.Validation, SyncValidation: opts.SyncValidation,
		Extensions: opts.WindowExtensions}
	if cfg.AppName == "" {
		cfg.AppName = "vkio"
	}
	if opts.Validation {
		cfg.OnMessage = d.onMessage
	}
	in, err := vkx.NewInstance(cfg)
	if err != nil {
		return nil, wrap("open", err)
	}
	d.inst = in
	p, err := pick(in.Devices, opts.Device)
	if err != nil {
		in.Destroy()
		return nil, err
	}
	d.info = infoOf(p)
	if opts.Queue < 0 || opts.Queue >= d.info.ComputeQueues {
		in.Destroy()
		return nil, errf("open", ErrInvalid, "queue %d out of range: %s has %d compute queue(s) (0 to %d)",
			opts.Queue, d.info, d.info.ComputeQueues, d.info.ComputeQueues-1)
	}
	var cache []byte
	if opts.PipelineCache != "" {
		// Missing or unreadable: start empty (a driver ignores a cache
		// it cannot use too).
		var rerr error
		unlock, _ := lockCache(opts.PipelineCache, false) // without it, the rename still makes the read whole
		cache, rerr = os.ReadFile(opts.PipelineCache)
		unlock()
		if rerr != nil && !errors.Is(rerr, os.ErrNotExist) && opts.Logger != nil {
			opts.Logger.Warn("gpu: pipeline cache not read; starting empty", "path", opts.PipelineCache, "err", rerr)
		}
	}
	vd, err := in.NewDevice(p.Index, vkx.DeviceConfig{PipelineCache: cache, Swapchain: len(opts.WindowExtensions) > 0,
		Queue: opts.Queue, Transfer: opts.TransferQueue, SharedTransferLane: opts.sharedTransfer})
	if err != nil {
		in.Destroy()
		return nil, wrap("open", err)
	}
	d.vd = vd
	for i, vl := range vd.Lanes {
		l := &lane{vl: vl, name: "compute", bit: 1 << i}
		if vl.Transfer {
			l.name = "transfer"
			d.xfer = l
		}
		d.lanes = append(d.lanes, l)
	}
	if err := d.calibrate(); err != nil {
		d.vd.Destroy()
		in.Destroy()
		return nil, err
	}
	if opts.Logger != nil {
		opts.Logger.Info("gpu: device opened", "device", d.info.String(), "driver", d.info.Driver,
			"validation", opts.Validation)
	}
	return d, nil
}

func pick(devs []*vkx.PhysicalDevice, spec string) (*vkx.PhysicalDevice, error) {
	spec = strings.TrimSpace(spec)
	var names []string
	for _, p := range devs {
		names = append(names, infoOf(p).String())
	}
	list := "devices: " + strings.Join(names, "; ")
	if len(devs) == 0 {
		return nil, errf("open", ErrNoDevice, "the Vulkan loader reports no device")
	}
	usable := func(p *vkx.PhysicalDevice) error {
		if i := infoOf(p); !i.Usable {
			return errf("open", ErrUnsupported, "%s: %s", i, i.Reason)
		}
		return nil
	}
	if spec != "" {
		if n, err := strconv.Atoi(spec); err == nil {
			if n < 0 || n >= len(devs) {
				return nil, errf("open", ErrNoDevice, "device index %d out of range [0,%d); %s", n, len(devs), list)
			}
			return devs[n], usable(devs[n])
		}
		for _, p := range devs {
			if strings.Contains(strings.ToLower(p.Name), strings.ToLower(spec)) {
				return p, usable(p)
			}
		}
		return nil, errf("open", ErrNoDevice, "no device name contains %q; %s", spec, list)
	}
	var best *vkx.PhysicalDevice
	for _, p := range devs {
		if usable(p) != nil {
			continue
		}
		if best == nil || DeviceType(p.Type).rank() < DeviceType(best.Type).rank() {
			best = p
		}
	}
	if best == nil {
		return nil, errf("open", ErrUnsupported, "no usable device; %s", list)
	}
	return best, nil
}

func (d *Device) onMessage(m vkx.Message) {
	msg := Message{Error: m.Error, Layer: m.Layer, Text: m.Text}
	d.addMessage(msg)
	if d.opts.OnMessage != nil {
		d.opts.OnMessage(msg)
	}
	if l := d.opts.Logger; l != nil {
		level := slog.LevelWarn
		if msg.Error {
			level = slog.LevelError
		}
		l.Log(context.Background(), level, "gpu: validation message", "layer", msg.Layer, "text", msg.Text)
	}
}

// addMessage keeps a validation message for Messages and CheckValidation.
func (d *Device) addMessage(msg Message) {
	d.msgMu.Lock()
	defer d.msgMu.Unlock()
	d.msgs = append(d.msgs, msg)
}

// Info describes the device that was chosen.
func (d *Device) Info() DeviceInfo { return d.info }

// Queue returns the index of the compute family's queue the device submits
// to (Options.Queue).
func (d *Device) Queue() int { return d.opts.Queue }

// TransferQueue reports whether the device has its dedicated transfer
// queue open (Options.TransferQueue on a device with one): transfer
// batches and staged copies then run on it, beside the kernels.
func (d *Device) TransferQueue() bool { return d.xfer != nil && d.vd.Concurrent() }

// Validation reports whether the validation layer is enabled.
func (d *Device) Validation() bool { return d.opts.Validation }

// Messages returns every validation message recorded so far.
func (d *Device) Messages() []Message {
	d.msgMu.Lock()
	defer d.msgMu.Unlock()
	return append([]Message(nil), d.msgs...)
}

// CheckValidation returns an *Error wrapping ErrValidation, quoting the
// first one, if validation messages arrived since the previous call.
func (d *Device) CheckValidation() error {
	d.msgMu.Lock()
	defer d.msgMu.Unlock()
	n := len(d.msgs) - d.msgRead
	if n == 0 {
		return nil
	}
	first := d.msgs[d.msgRead]
	d.msgRead = len(d.msgs)
	return errf("validation", ErrValidation, "%d message(s); first: %s", n, first)
}

// track adds c to the live objects, which Close destroys. It fails once
// Close has begun (closed), which is before Close takes them (takeLive).
func (d *Device) track(c closer) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errf("create", ErrClosed, "device is closed")
	}
	d.live[c] = struct{}{}
	return nil
}

// enter makes the caller a user of the VkDevice, for an operation that
// needs the device open (not closed, not lost); leave ends it. Close does
// not destroy the device while it has users.
func (d *Device) enter(op string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.openLocked(op); err != nil {
		return err
	}
	d.users++
	return nil
}

// hold makes the caller a user of the VkDevice whatever its state, unless
// Close has taken it over (gone); leave ends it.
func (d *Device) hold() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone {
		return false
	}
	d.users++
	return true
}

// leave ends a use begun by enter, hold, claim or reapDone.
func (d *Device) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.users--; d.users == 0 && d.gone {
		d.cond.Broadcast()
	}
}

// claim takes c off the live objects for its own Close, which then
// destroys it as a user of the device and calls leave. It fails when Close
// has taken c already: Close destroys it, exactly once either way.
func (d *Device) claim(c closer) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.live[c]; !ok {
		return false
	}
	delete(d.live, c)
	d.users++
	return true
}

// takeLive ends the device's use by others: it hands over every live object
// and waits until the users that entered before have left. No user enters
// after it (enter and claim fail, reapDone skips).
func (d *Device) takeLive() []closer {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gone = true
	live := make([]closer, 0, len(d.live))
	for c := range d.live {
		live = append(live, c)
	}
	clear(d.live)
	for d.users > 0 {
		d.cond.Wait()
	}
	return live
}

// Live returns how many buffers, kernels and batches are open.
func (d *Device) Live() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.live)
}

// Close waits for all submitted work to complete (including work whose
// wait was canceled), stops the completion goroutine, destroys every object
// still open, saves the pipeline cache, and destroys the device. It may run
// concurrently with anything else: an object's Close that loses the race
// returns nil (its object is destroyed by this Close), and creations and
// submissions fail with ErrClosed once Close has begun. A second Close
// waits for the first and returns nil. Close of a Device not made by Open
// fails with ErrInvalid.
func (d *Device) Close() error {
	if d == nil || d.vd == nil || d.closeDone == nil {
		return errf("close", ErrInvalid, "the Device was not made by Open")
	}
	if d.closing.Swap(true) {
		<-d.closeDone
		return nil
	}
	defer close(d.closeDone)
	// Closed under the queue lock: a submission that passed its last check
	// (in enqueue, under the same lock) is in d.pending before this, and
	// none reaches the queue after it.
	if d.markClosed() {
		<-d.stopped
	}
	// Pending work left by blocking waits that were canceled, or a lost
	// device, and that of Blocking Runs still waiting: once the device is
	// idle their waits return, and no new one starts (see waitInline).
	d.drainInline()
	d.waitInlines()
	// From here on Close is the device's only user.
	live := d.takeLive()
	var firstErr error
	if d.opts.PipelineCache != "" {
		if err := d.saveCache(); err != nil {
			firstErr = err
		}
	}
	// Batches first: they reference kernels and buffers.
	for _, c := range live {
		if _, ok := c.(*Batch); ok {
			c.destroy()
		}
	}
	for _, c := range live {
		if _, ok := c.(*Batch); !ok {
			c.destroy()
		}
	}
	d.vd.Destroy()
	d.endWakes()
	d.inst.Destroy()
	return firstErr
}

// endWakes stops wake's retries, once the device (and its wake semaphore)
// is destroyed: a retry still running ends at its next signal, which does
// nothing now, and none starts.
func (d *Device) endWakes() {
	d.mu.Lock()
	d.wakeDone = true
	d.mu.Unlock()
	d.wakers.Wait()
}

// markClosed marks the device closed under the queue lock and wakes the
// completion goroutine; it reports whether that goroutine was started.
func (d *Device) markClosed() (running bool) {
	d.vd.LockQueues()
	defer d.vd.UnlockQueues()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	d.cond.Broadcast()
	return d.running
}

// waitInlines waits until no goroutine waits inline (waitInline); Close
// has set closing, so none starts a wait and the last to leave signals.
func (d *Device) waitInlines() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.inline.Load() > 0 {
		d.cond.Wait()
	}
}

// inlineDone ends an inline wait counted in d.inline, waking Close if it
// was the last.
func (d *Device) inlineDone() {
	if d.inline.Add(-1) == 0 && d.closing.Load() {
		d.broadcast()
	}
}

// broadcast wakes every goroutine waiting on d.cond.
func (d *Device) broadcast() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cond.Broadcast()
}

func (d *Device) saveCache() error {
	data, err := d.vd.PipelineCacheData()
	if err != nil {
		return wrap("save pipeline cache", err)
	}
	path := d.opts.PipelineCache
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return &Error{Op: "save pipeline cache", Detail: err.Error(), Err: ErrInvalid}
	}
	unlock, err := lockCache(path, true)
	if errors.Is(err, ErrTimeout) {
		return err
	}
	defer unlock()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vkio-pipeline-cache-*")
	if err != nil {
		return &Error{Op: "save pipeline cache", Detail: err.Error(), Err: ErrInvalid}
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return &Error{Op: "save pipeline cache", Detail: err.Error(), Err: ErrInvalid}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return &Error{Op: "save pipeline cache", Detail: err.Error(), Err: ErrInvalid}
	}
	return nil
}
