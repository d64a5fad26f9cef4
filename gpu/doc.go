// Package gpu is vkio's Vulkan compute layer: devices, buffers, kernels
// built from SPIR-V, and command batches whose submission and completion are
// operations of an io.Io, like file and network I/O.
//
// All cgo, unsafe and vulkan-go (github.com/vulkan-go/vulkan) types live in
// gpu/internal/vkx; nothing of them shows here.
//
// # Platforms
//
// The package runs on Linux with a Vulkan loader (libvulkan.so.1, Debian's
// libvulkan1) and a Vulkan 1.2 driver (Mesa's lavapipe is enough), and
// needs cgo: its cgo files (gpu/internal/vkx, gpu/internal/spvtools) carry
// the build constraint "linux && cgo", and on other systems, or with
// CGO_ENABLED=0, the build stops there with an error naming the reason
// (undefined: vkio_gpu_needs_linux_and_cgo). Packages io and tasks do not
// import gpu and build everywhere.
//
// # Devices
//
// Open picks a device: discrete before integrated, virtual and CPU (Mesa's
// lavapipe runs everywhere), or the one Options.Device names by index or
// name. Device.Info reports the choice. vkio needs Vulkan 1.2 timeline
// semaphores and requests only what the device reports (the timeline
// feature, and VK_EXT_calibrated_timestamps where listed). With
// Options.Validation the Khronos validation layer is on and its messages are
// recorded; the tests fail on any of them.
//
// The package reads no environment variables and writes no logs except to
// Options.Logger. OptionsFromEnv maps VKIO_DEVICE and VKIO_VALIDATION=1 into
// Options for programs that want them.
//
// # Buffers and kernels
//
// Buffers are HostVisible (coherent, persistently mapped; View gives a typed
// slice) or DeviceLocal (uploaded and downloaded through staging buffers
// unless the memory is also host-visible; Options.ForceStaging forces the
// staging path, so it is exercised on lavapipe). NewKernel reflects a
// SPIR-V module with vkio's own parser (Reflect): descriptor bindings,
// push-constant size, local size and specialization constants come from the
// module, and malformed modules fail with ErrBadSPIRV before they reach the
// driver. Pipelines go through a pipeline cache that Options.PipelineCache
// keeps on disk.
//
// # Batches and submission
//
// A Batch records dispatches, indirect dispatches, copies, fills, barriers
// and timestamps once and can be submitted any number of times. Submit
// returns an *io.Future. How it is waited for is the Io's answer to
// io.Io.External (gpu does not switch on io.Kind): on a single thread of
// control (Blocking) the work is waited for inline, until the task's
// deadline at the latest (x.Deadline(); an error matching
// ErrTimeout and context.DeadlineExceeded);
// under Threaded and Evented Ios one completion goroutine per device (one
// OS thread while it is blocked in the driver) waits on the device's
// timeline semaphores and resolves every finished submission, so waits never
// pin one OS thread each. It yields after resolving, so the woken awaiters
// run on its thread without an OS thread hand-off.
// Canceling a wait returns io.ErrCanceled promptly while the device keeps
// tracking the GPU work to completion before releasing anything it uses
// (a Blocking wait in the driver also waits on the device's wake semaphore,
// which the task's cancel signals from the host). VkQueue access is
// serialized by one mutex per queue.
//
// # Queues
//
// A Device submits to one queue of the device's compute family
// (Options.Queue; DeviceInfo.ComputeQueues says how many there are: a
// device set opens one Device per queue). With Options.TransferQueue it
// also opens the dedicated transfer family's queue where there is one
// (DeviceInfo.TransferQueues; NVIDIA has one, lavapipe none): transfer
// batches (Device.NewTransferBatch) and staged uploads and downloads run
// there, so that copies overlap kernels, and buffers are shared by both
// families (VK_SHARING_MODE_CONCURRENT). Each queue is a lane with its own
// timeline semaphore and pending list. Submissions on the two lanes that
// use a buffer are ordered as on one queue: each buffer records the last
// submission on each lane that wrote it and that read it, and a later
// submission on the other lane that uses it waits for those on the GPU (a
// timeline-semaphore wait in the submission, even when the host has
// already waited for the value: only such a dependency makes one queue's
// writes visible to another's commands). Batch.After orders a submission
// after another batch's in the same way, and Completion.Queue names the
// lane a submission ran on. The device's one completion goroutine waits on every
// lane's timeline (and its wake semaphore) in one vkWaitSemaphores. Without
// a transfer queue, transfer batches run on the compute queue with the same
// results.
//
// VkInstances are never destroyed but reused by later Opens of the same
// configuration, one open device per instance at a time (NVIDIA's driver
// refuses the 31st vkCreateInstance of a process); each Open creates and
// each Close destroys its own VkDevice. See docs/VULKAN-NOTES.md for this
// and the other driver facts vkio works around.
//
// # Closing
//
// Device.Close may race anything else done with the device and its
// objects. Each buffer, kernel, batch and swapchain is destroyed exactly
// once, by its own Close or by Device.Close, and never after the VkDevice:
// Device.Close waits for operations already using the device (creating,
// recording, presenting, host copies, an object's Close that got there
// first) and then destroys what is left; later ones fail with ErrClosed,
// and a later object Close returns nil.
//
// # Windows
//
// A Swapchain presents buffers of pixels (RGBA8 as the Julia kernel writes
// them, or BGRA8) in a window: the copy into the swapchain image (with the
// format conversion and any scaling done by a blit), its layout transitions
// and its semaphores and fence are vkio's; the window and its VkSurfaceKHR
// come from a window library, on a device opened with
// Options.WindowExtensions (only then are VK_KHR_surface, the platform's
// surface extension and VK_KHR_swapchain enabled). Package github.com/vkio/vkio/window does
// this with GLFW; this package never links a window system.
//
// # Errors
//
// Every error is an *Error; errors.Is matches its sentinel (ErrDeviceLost,
// ErrOutOfMemory, ErrTimeout, ErrBadSPIRV, ErrBinding, ErrLimit, ...).
// Vulkan result codes are kept in Error.Result. A panic inside vulkan-go
// (it panics when a C allocation fails, as under ulimit -v) is recovered
// where vkio calls it and comes back as an error matching ErrOutOfMemory
// (ErrVulkan for any other panic value), with what the call had made
// destroyed and no lock left held.
//
// # Timestamps on the host clock
//
// Batch.Timestamp stamps are reported as time.Time values on the host's
// monotonic clock, next to CPU spans. The device counter is mapped to
// CLOCK_MONOTONIC at Open (Device.Calibration):
//
//   - with VK_EXT_calibrated_timestamps (lavapipe has it), the device
//     counter and CLOCK_MONOTONIC are sampled together 8 times and the sample
//     with the smallest driver-reported deviation is kept; that deviation is
//     the error bound (on lavapipe the counter is CLOCK_MONOTONIC in ns: the
//     offset is 0 and the bound 1 ns);
//   - otherwise a submission writing one timestamp is bracketed by host
//     clock reads 5 times; the offset is taken at the midpoint of the
//     shortest bracket and the bound is half its length (typically 5–50 µs).
//
// Both are single calibrations: clock drift since Open (ppm-scale on real
// GPUs) adds to the bound over long runs.
package gpu
