package gpu

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vkio/vkio/gpu/internal/vkx"
)

// Batch is a list of GPU commands — dispatches, indirect dispatches,
// copies, fills, barriers and timestamps — recorded into one command buffer
// the first time it is submitted, and reusable: submit it again as often as
// you like (one submission at a time; ErrBusy otherwise). Commands cannot
// be added after the first submission.
//
// A batch runs on the device's compute queue; a transfer batch
// (NewTransferBatch) on its transfer queue, if one is open. After orders a
// batch after another, across queues too.
//
// Barriers are inserted automatically where a command reads or writes a
// buffer that an earlier command of the batch writes (or writes one it
// reads), using the read-only information reflected from kernels, and at
// the start and end of every batch, so that consecutive submissions and the
// host see each other's writes. Barrier adds one explicitly.
//
// A Batch is not safe for concurrent use while it is being built.
type Batch struct {
	d        *Device
	ops      []vkx.Op
	bufs     []*Buffer // distinct buffers used
	acc      *[]uint8  // per entry of bufs, how it is used (accRead, accWrite); nil with one lane
	kernels  []*Kernel // distinct kernels used
	labels   []string  // timestamp labels, by query index
	read     map[*Buffer]bool
	written  map[*Buffer]bool
	internal bool // created by the package itself (staging)
	transfer bool // a transfer batch (NewTransferBatch): no dispatches

	// last is the timeline value of the batch's last submission on its
	// lane (0: never submitted), for After.
	last atomic.Uint64

	mu       sync.Mutex // guards the fields below
	cmds     *vkx.Commands
	lane     *lane   // the lane it is recorded for, set with cmds
	waits    waitSet // what its next submission waits for (After)
	inflight bool
	closed   bool
}

// NewBatch returns an empty batch, which runs on the compute queue.
func (d *Device) NewBatch() *Batch {
	return d.newBatch(false)
}

// NewTransferBatch returns an empty transfer batch: a batch that holds
// copies, fills, barriers and timestamps only (Dispatch and
// DispatchIndirect fail with ErrInvalid), submitted with Submit and Run
// like any other. It runs on the transfer queue when one is open
// (Options.TransferQueue on a device with one; see TransferQueue), beside
// the kernels on the compute queue, and on the compute queue otherwise,
// with the same results: code written for a transfer queue runs anywhere.
//
// Submissions on the two queues that use the same buffer are ordered as
// on one queue: a submission waits, on the GPU, for the other queue's last
// submission made before it that writes a buffer it uses, and, if it
// writes the buffer, for the last that reads it. So a kernel that reads
// what a transfer batch uploaded waits for the upload (and sees its
// writes, which a wait on the host alone does not guarantee across
// queues), and a readback waits for the kernel that wrote what it reads.
// Batches that share no buffer run side by side; After orders one after
// another whatever buffers they use.
//
// A transfer batch with timestamps runs on the compute queue where the
// transfer family cannot write or reset them (no timestampValidBits, no
// hostQueryReset).
func (d *Device) NewTransferBatch() *Batch {
	return d.newBatch(true)
}

func (d *Device) newBatch(transfer bool) *Batch {
	b := &Batch{d: d, transfer: transfer, read: map[*Buffer]bool{}, written: map[*Buffer]bool{}}
	if len(d.lanes) > 1 {
		b.acc = new([]uint8)
	}
	if d.track(b) != nil {
		b.closed = true
	}
	return b
}

// Transfer reports whether b is a transfer batch (NewTransferBatch).
func (b *Batch) Transfer() bool { return b.transfer }

// After makes b's next submission wait, on the GPU, for prev's last
// submission (as submitted when After is called) to complete, whichever
// queue each runs on: the submission waits on prev's queue's timeline
// semaphore, with no round trip through the host, and prev's writes are
// visible to b's commands. Several calls before a submission add up (b
// then waits for each); the submission consumes them, so call After again
// before each submission that needs it. It fails with ErrInvalid if prev
// has never been submitted or belongs to another device, and with
// ErrClosed if b is closed.
func (b *Batch) After(prev *Batch) error {
	const op = "after"
	if b == nil || prev == nil {
		return errf(op, ErrInvalid, "nil batch")
	}
	if prev.d != b.d {
		return errf(op, ErrInvalid, "the batch waited for belongs to another device")
	}
	prev.mu.Lock()
	l := prev.lane
	prev.mu.Unlock()
	v := prev.last.Load()
	if l == nil || v == 0 {
		return errf(op, ErrInvalid, "the batch waited for has never been submitted")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errf(op, ErrClosed, "batch is closed")
	}
	i := l.vl.Index
	b.waits[i] = max(b.waits[i], v)
	return nil
}

// laneFor picks the lane b runs on: a transfer batch's is the transfer
// lane, if the device has one that can run it.
func (d *Device) laneFor(b *Batch) *lane {
	x := d.xfer
	if !b.transfer || x == nil {
		return d.lanes[0]
	}
	if len(b.labels) > 0 && (!d.vd.HostQueryReset || (d.TransferQueue() && d.vd.Phys.TransferTimestampBits == 0)) {
		return d.lanes[0]
	}
	return x
}

func (b *Batch) addable(op string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return errf(op, ErrClosed, "batch is closed")
	case b.cmds != nil:
		return errf(op, ErrInvalid, "batch was already submitted; it can be resubmitted but not extended")
	}
	return nil
}

// How a batch uses a buffer: bits of Batch.acc.
const (
	accRead  uint8 = 1 << iota // some command reads it
	accWrite                   // some command writes it
)

// use notes that the batch's commands access bufs as acc says (the access
// is kept on a device with two lanes only).
func (b *Batch) use(acc uint8, bufs ...*Buffer) {
	for _, x := range bufs {
		i := slices.Index(b.bufs, x)
		if i < 0 {
			i = len(b.bufs)
			b.bufs = append(b.bufs, x)
			if b.acc != nil {
				*b.acc = append(*b.acc, 0)
			}
		}
		if b.acc != nil {
			(*b.acc)[i] |= acc
		}
	}
}

// hazard inserts a barrier if reads or writes conflict with earlier
// commands since the last barrier, then records the accesses.
func (b *Batch) hazard(reads, writes []*Buffer) {
	conflict := false
	for _, w := range writes {
		if b.read[w] || b.written[w] {
			conflict = true
		}
	}
	for _, r := range reads {
		if b.written[r] {
			conflict = true
		}
	}
	if conflict {
		b.barrier()
	}
	for _, r := range reads {
		b.read[r] = true
	}
	for _, w := range writes {
		b.written[w] = true
	}
}

func (b *Batch) barrier() {
	b.ops = append(b.ops, vkx.Op{Kind: vkx.OpBarrier})
	clear(b.read)
	clear(b.written)
}

func (b *Batch) checkBuf(op string, x *Buffer) error {
	if x == nil {
		return errf(op, ErrInvalid, "nil buffer")
	}
	if x.d != b.d {
		return errf(op, ErrInvalid, "buffer belongs to another device")
	}
	if x.use.closed() {
		return errf(op, ErrClosed, "buffer is closed")
	}
	return nil
}

func (b *Batch) bind(op string, k *Kernel, push []byte, bufs []*Buffer) (ranges []vkx.BufRange, reads, writes []*Buffer, err error) {
	if k == nil {
		return nil, nil, nil, errf(op, ErrInvalid, "nil kernel")
	}
	if k.d != b.d {
		return nil, nil, nil, errf(op, ErrInvalid, "kernel belongs to another device")
	}
	if k.use.closed() {
		return nil, nil, nil, errf(op, ErrClosed, "kernel is closed")
	}
	if len(push) != k.refl.PushSize {
		return nil, nil, nil, errf(op, ErrBinding, "%d bytes of push constants; the kernel's block is %d bytes", len(push), k.refl.PushSize)
	}
	bs := k.refl.Bindings
	if len(bufs) != len(bs) {
		return nil, nil, nil, errf(op, ErrBinding, "%d buffers for a kernel with %d bindings", len(bufs), len(bs))
	}
	lim := b.d.info.Limits
	for i, x := range bufs {
		if err := b.checkBuf(op, x); err != nil {
			return nil, nil, nil, err
		}
		bi := bs[i]
		if x.size < bi.MinSize {
			return nil, nil, nil, errf(op, ErrBinding, "binding %d (%s) needs at least %d bytes; the buffer has %d", bi.Binding, bi.Kind, bi.MinSize, x.size)
		}
		maxRange := lim.MaxStorageBufferRange
		if bi.Kind == UniformBuffer {
			maxRange = lim.MaxUniformBufferRange
		}
		if uint64(x.size) > uint64(maxRange) {
			return nil, nil, nil, errf(op, ErrLimit, "binding %d: a %d-byte %s exceeds the device's range of %d bytes", bi.Binding, x.size, bi.Kind, maxRange)
		}
		ranges = append(ranges, vkx.BufRange{Buf: x.vb})
		if bi.ReadOnly {
			reads = append(reads, x)
		} else {
			writes = append(writes, x)
		}
	}
	return ranges, reads, writes, nil
}

// useKernel notes that the batch uses k: the batch holds one use of each
// kernel it uses until it is closed, so that Kernel.Close fails with ErrBusy
// meanwhile. Taking the use is what checks that k is still open: a Close
// that ran since bind looked fails it here.
func (b *Batch) useKernel(op string, k *Kernel) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return errf(op, ErrClosed, "batch is closed")
	case slices.Contains(b.kernels, k):
		return nil
	case !k.use.tryUse():
		return errf(op, ErrClosed, "kernel is closed")
	}
	b.kernels = append(b.kernels, k)
	return nil
}

// checkGroups checks workgroup counts: each at least 1 (ErrInvalid) and at
// most the device's maxComputeWorkGroupCount (ErrLimit).
func checkGroups(op string, lim Limits, groups [3]uint32) error {
	for i, g := range groups {
		if g == 0 {
			return errf(op, ErrInvalid, "workgroup count %v: dimension %d is 0; a dispatch needs at least one workgroup in each dimension", groups, i)
		}
		if g > lim.MaxWorkGroupCount[i] {
			return errf(op, ErrLimit, "workgroup count %v: dimension %d is %d, beyond the device's maxComputeWorkGroupCount[%d] of %d", groups, i, g, i, lim.MaxWorkGroupCount[i])
		}
	}
	return nil
}

// Dispatch adds a dispatch of k over groups workgroups, with push constants
// push (exactly the kernel's PushSize bytes; see Push) and bufs bound, in
// order, to the kernel's bindings sorted by binding number. Mismatches fail
// with ErrBinding, a zero group count with ErrInvalid, and group counts
// beyond the device's maxComputeWorkGroupCount with ErrLimit.
func (b *Batch) Dispatch(k *Kernel, groups [3]uint32, push []byte, bufs ...*Buffer) error {
	const op = "dispatch"
	if err := b.addable(op); err != nil {
		return err
	}
	if b.transfer {
		return errf(op, ErrInvalid, "a transfer batch holds copies, fills, barriers and timestamps only")
	}
	if err := checkGroups(op, b.d.info.Limits, groups); err != nil {
		return err
	}
	ranges, reads, writes, err := b.bind(op, k, push, bufs)
	if err != nil {
		return err
	}
	if err := b.useKernel(op, k); err != nil {
		return err
	}
	b.hazard(reads, writes)
	b.ops = append(b.ops, vkx.Op{Kind: vkx.OpDispatch, Pipeline: k.p, Buffers: ranges, Push: slices.Clone(push), Groups: groups})
	b.use(accRead, reads...)
	b.use(accWrite, writes...)
	return nil
}

// DispatchIndirect adds a dispatch whose workgroup counts are three uint32
// read by the GPU from args at byte offset off (a multiple of 4). Those
// counts are known only when the GPU reads them, so neither vkio nor the
// device checks them: counts beyond Info().Limits.MaxWorkGroupCount are
// undefined behaviour in Vulkan. Do not let untrusted input or untrusted
// kernels write args; use Dispatch, which checks its counts, for those.
func (b *Batch) DispatchIndirect(k *Kernel, args *Buffer, off int, push []byte, bufs ...*Buffer) error {
	const op = "dispatch indirect"
	if err := b.addable(op); err != nil {
		return err
	}
	if b.transfer {
		return errf(op, ErrInvalid, "a transfer batch holds copies, fills, barriers and timestamps only")
	}
	if err := b.checkBuf(op, args); err != nil {
		return err
	}
	if off < 0 || off%4 != 0 || off+12 > args.size {
		return errf(op, ErrInvalid, "indirect arguments at offset %d: need a multiple of 4 with 12 bytes inside the %d-byte buffer", off, args.size)
	}
	ranges, reads, writes, err := b.bind(op, k, push, bufs)
	if err != nil {
		return err
	}
	if err := b.useKernel(op, k); err != nil {
		return err
	}
	b.hazard(append(reads, args), writes)
	b.ops = append(b.ops, vkx.Op{Kind: vkx.OpDispatchIndirect, Pipeline: k.p, Buffers: ranges, Push: slices.Clone(push),
		Indirect: vkx.BufRange{Buf: args.vb, Off: uint64(off)}})
	b.use(accRead, append(reads, args)...)
	b.use(accWrite, writes...)
	return nil
}

// Copy adds a copy of size bytes from src at srcOff to dst at dstOff.
// Overlapping ranges of one buffer are rejected.
func (b *Batch) Copy(dst *Buffer, dstOff int, src *Buffer, srcOff int, size int) error {
	const op = "copy"
	if err := b.addable(op); err != nil {
		return err
	}
	if err := b.checkBuf(op, dst); err != nil {
		return err
	}
	if err := b.checkBuf(op, src); err != nil {
		return err
	}
	if size <= 0 {
		return errf(op, ErrInvalid, "copy size %d", size)
	}
	if err := src.checkRange(op, srcOff, size); err != nil {
		return err
	}
	if err := dst.checkRange(op, dstOff, size); err != nil {
		return err
	}
	if src == dst && srcOff < dstOff+size && dstOff < srcOff+size {
		return errf(op, ErrInvalid, "overlapping ranges [%d,%d) and [%d,%d) of one buffer", srcOff, srcOff+size, dstOff, dstOff+size)
	}
	b.hazard([]*Buffer{src}, []*Buffer{dst})
	b.ops = append(b.ops, vkx.Op{Kind: vkx.OpCopy,
		Src: vkx.BufRange{Buf: src.vb, Off: uint64(srcOff), Size: uint64(size)},
		Dst: vkx.BufRange{Buf: dst.vb, Off: uint64(dstOff)}})
	b.use(accWrite, dst)
	b.use(accRead, src)
	return nil
}

// Fill adds a fill of size bytes of dst at off with the 32-bit value;
// off and size must be multiples of 4.
func (b *Batch) Fill(dst *Buffer, off, size int, value uint32) error {
	const op = "fill"
	if err := b.addable(op); err != nil {
		return err
	}
	if err := b.checkBuf(op, dst); err != nil {
		return err
	}
	if size <= 0 || off%4 != 0 || size%4 != 0 {
		return errf(op, ErrInvalid, "fill offset %d and size %d must be multiples of 4, size > 0", off, size)
	}
	if err := dst.checkRange(op, off, size); err != nil {
		return err
	}
	b.hazard(nil, []*Buffer{dst})
	b.ops = append(b.ops, vkx.Op{Kind: vkx.OpFill, Dst: vkx.BufRange{Buf: dst.vb, Off: uint64(off), Size: uint64(size)}, Value: value})
	b.use(accWrite, dst)
	return nil
}

// Barrier adds a full memory barrier between the commands before it and
// those after it (compute, transfer and indirect-argument reads).
func (b *Batch) Barrier() error {
	if err := b.addable("barrier"); err != nil {
		return err
	}
	b.barrier()
	return nil
}

// Timestamp adds a GPU timestamp, written when all earlier commands of the
// batch have completed. Completion.Stamps reports it, by label, on the
// host's monotonic clock.
func (b *Batch) Timestamp(label string) error {
	if err := b.addable("timestamp"); err != nil {
		return err
	}
	b.ops = append(b.ops, vkx.Op{Kind: vkx.OpTimestamp, Query: uint32(len(b.labels))})
	b.labels = append(b.labels, label)
	return nil
}

// Len returns the number of commands added (barriers included).
func (b *Batch) Len() int { return len(b.ops) }

// record builds the command buffer; the caller holds b.mu.
func (b *Batch) record() error {
	if b.cmds != nil {
		return nil
	}
	ops := make([]vkx.Op, 0, len(b.ops)+2)
	if len(b.ops) > 0 {
		ops = append(ops, vkx.Op{Kind: vkx.OpBarrier})
		ops = append(ops, b.ops...)
		ops = append(ops, vkx.Op{Kind: vkx.OpHostBarrier})
	}
	l := b.d.laneFor(b)
	cmds, err := b.d.vd.RecordOn(l.vl, ops, len(b.labels))
	if err != nil {
		return wrap("record", err)
	}
	b.cmds, b.lane = cmds, l
	return nil
}

// Close releases the batch's command buffer and pools, and its uses of
// kernels. It fails with ErrBusy while a submission of the batch is
// running, and with ErrDeviceLost when the device was lost with one
// running (Device.Close releases the batch then); a second Close returns nil, and so does a Close after (or while)
// Device.Close destroys it.
func (b *Batch) Close() error {
	if b.busy() {
		// The submission may have finished without being reaped yet.
		b.d.reapDone()
	}
	cmds, kernels, mine, err := b.shut()
	if err != nil || !mine {
		return err
	}
	defer b.d.leave()
	b.free(cmds, kernels)
	return nil
}

// busy reports whether a submission of the open batch is in flight.
func (b *Batch) busy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inflight && !b.closed
}

// shut closes the batch for Close unless a submission of it is in flight
// (ErrBusy). mine: Close claimed the batch from the device (see
// Device.claim) and must free what shut hands over, then leave the device;
// otherwise it was closed already, or Device.Close destroys it.
//
// Checked and closed in one critical section: enqueue, which looks at
// closed and sets inflight under b.mu, either saw it closed or made it busy.
func (b *Batch) shut() (cmds *vkx.Commands, kernels []*Kernel, mine bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, nil, false, nil
	case b.inflight:
		if b.d.lostFlag.Load() {
			// A lost device's work may never complete: waiting for it would
			// never end. Device.Close releases the batch.
			return nil, nil, false, &Error{Op: "close batch", Detail: "a submission was running when the device was lost; Device.Close releases the batch", Err: ErrDeviceLost}
		}
		return nil, nil, false, errf("close batch", ErrBusy, "a submission is still running")
	case !b.d.claim(b):
		return nil, nil, false, nil
	}
	cmds, kernels, _ = b.shutLocked()
	return cmds, kernels, true, nil
}

// destroy is Device.Close's: the device is idle and Close is its only user.
func (b *Batch) destroy() {
	b.free(b.shutAny())
}

// shutAny marks the batch closed and hands over what free releases.
func (b *Batch) shutAny() (*vkx.Commands, []*Kernel) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cmds, kernels, _ := b.shutLocked()
	return cmds, kernels
}

// shutLocked marks the batch closed and hands over what free releases;
// now is false if it was closed already. The caller holds b.mu.
func (b *Batch) shutLocked() (cmds *vkx.Commands, kernels []*Kernel, now bool) {
	if b.closed {
		return nil, nil, false
	}
	b.closed = true
	cmds, kernels = b.cmds, b.kernels
	b.cmds, b.kernels = nil, nil
	return cmds, kernels, true
}

// free releases what shutLocked handed over.
func (b *Batch) free(cmds *vkx.Commands, kernels []*Kernel) {
	if cmds != nil {
		cmds.Destroy()
	}
	for _, k := range kernels {
		k.use.release()
	}
}
