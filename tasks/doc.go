// Package tasks is vkio's scheduler: it overlaps GPU compute with disk and
// network I/O, and profiles how well it did.
//
// Everything runs through an io.Io, so one program runs unchanged on the
// Blocking (sequential), Threaded and Evented implementations.
//
// tasks is pure Go: it links no Vulkan and builds with CGO_ENABLED=0 (a test
// checks its dependencies), so a program that only schedules pays nothing
// for the GPU. The GPU stage of a Pipeline on a github.com/vkio/vkio/gpu
// Device is the subpackage github.com/vkio/vkio/tasks/gputask.
//
// # Graphs
//
// A Graph is a DAG of tasks. Each task starts once its dependencies (After)
// have succeeded, holds weights of Semaphores (Needs: GPU batches in flight,
// bytes of staging memory, concurrent writes) while it runs, and is recorded
// as a span on a resource class (On). Semaphore waits are Io cancel points.
//
// # Pipelines
//
// A Pipeline is the common shape of GPU work: compute on the GPU → read back
// → CPU stage (encode) → save atomically and/or send, with Depth frames in
// flight, so that frame k+1 computes while frame k is saved. It depends on
// three small interfaces — Dispatcher (the GPU), Encoder (the CPU stage) and
// Sink (the disk or network) — so its logic is tested without Vulkan;
// gputask.Dispatcher implements Dispatcher on github.com/vkio/vkio/gpu,
// EncoderFunc adapts a function as the CPU stage, DirSink and ConnSink save
// and send. Memory stays flat
// however many frames run: a frame takes one of Depth slots (an io.Queue, the
// backpressure) from submission until it is saved, and each slot reuses its
// buffers.
//
// # Errors and cancellation
//
// Errors are *Error values (Op, Task, Frame, cause) that errors.Is and
// errors.As see through. The Policy says what a failure stops, and Graph and
// Pipeline apply it with the same code: CancelAll (the default) cancels
// everything still running and starts nothing new; CancelDependents stops
// only what depends on the failure (a task's dependents, a frame's later
// stages). An error that matches io.ErrCanceled after the run was canceled
// is a cancellation, not a failure. The run's error is the first failure;
// Report.Errors lists the first MaxReportErrors. Canceling the Io a
// run was given (or the context of RunContext, e.g. on Ctrl-C) stops it
// promptly: submitting stops at once, GPU waits return, and then the run
// waits — not cancelably — for the GPU to finish every submission it made, so
// no GPU work or buffer outlives Run. Results already saved stay saved and
// complete; saves in progress are abandoned (DirSink writes atomically, so no
// partial file is left). Cancellation errors match io.ErrCanceled and
// context.Canceled.
//
// # Panic policy
//
// A panic in a task body, a Dispatcher, Encoder or Sink method, or the
// OnFrame or OnTask hook is recovered by the scheduler on the goroutine where it
// happened and becomes a failure of that task or frame: an *Error whose
// chain holds a *PanicError (the value and the stack; errors.Is(err,
// ErrPanic)). The failure policy then applies as for any error (a panicking
// hook stops the run whatever the policy), so the run
// still waits for GPU work, removes temporary files (deferred cleanups ran
// during the unwinding) and returns. Recovering is deliberate: an unrecovered
// panic on a pool goroutine would end the process with GPU work in flight and
// temporary files behind. State the panicking code shared may be
// inconsistent, so treat ErrPanic as a bug to report, not to retry. Panics in
// the scheduler's own code are not recovered.
//
// # Profiling
//
// A Recorder collects spans: CPU stages on a lane per worker (the submitter,
// each pipeline slot), GPU execution from the batch's timestamps on a lane
// per queue, disk and network saves, with each frame's spans linked by flow
// arrows (submit → GPU → fence wait → read back → encode → save). WriteTrace
// writes Chrome trace-event JSON for Perfetto and chrome://tracing;
// WriteTimelineSVG a self-contained picture. A nil *Recorder records nothing
// at the cost of a nil check. Every run returns a Report: the frames (of a
// Pipeline) or tasks (of a Graph) done, failed and canceled, wall time, busy
// time per resource, GPU idle time, each resource's throughput limit (process
// CPU time over cores, GPU, disk and network busy time, frames in flight over
// the depth: see ComputeBound), the bound and the binding resource, the
// efficiency (wall / bound) and, with CompareTo, the speedup over a Blocking
// run. Where the GPU is a CPU device, Report.ShareGPU counts its work as the
// CPU's, not twice.
//
// While a Pipeline or Graph runs with a Recorder, it also samples counters
// every DefaultSampleInterval (see StartSampling and Sample): CoresBusy, the
// process's CPU time over wall time (an in-process Vulkan driver's threads
// included), and the run's gauges ("frames in flight", "gpu queue",
// "encoders busy"; "tasks running"). The trace has them as counter tracks,
// the timeline as area charts under the lanes; CounterStats summarizes one.
// Two runs at once on one Recorder write to the same tracks.
//
// Every pipeline stage runs under the pprof labels stage and frame, every
// graph task under task (see LabelStage), so a Go CPU profile splits by
// them: go tool pprof -tagfocus stage=encode. CPU time per stage comes
// from such a profile, not from the Recorder (lavapipe's threads are not
// Go's and carry no labels).
package tasks
