package gpu

import (
	"sync/atomic"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
)

// Memory says where a buffer lives.
type Memory int

const (
	// HostVisible memory is coherent and persistently mapped: the host
	// reads and writes it directly through Bytes and View.
	HostVisible Memory = iota
	// DeviceLocal memory is the GPU's own. It is mapped only where it is
	// also host-visible (unified memory, lavapipe) and Options.ForceStaging
	// is off; otherwise Upload and Download go through a staging buffer.
	DeviceLocal
)

// String names the memory kind.
func (m Memory) String() string {
	if m == DeviceLocal {
		return "device-local"
	}
	return "host-visible"
}

// Elem is the element types of typed host views.
type Elem interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

// Buffer is GPU memory usable as a storage, uniform or indirect buffer and
// as a copy source or destination.
type Buffer struct {
	d    *Device
	vb   *vkx.Buffer
	size int
	use  useCount // submissions (and presents) in flight that use the buffer
	mem  uint8    // its Memory (kept small: see lanes)
	// mapped is the mapped memory (nil if not mapped), set once: vb.Mapped
	// is cleared when vb is destroyed, which may race a reader.
	mapped []byte
	// lanes records the lanes' accesses on a device with two lanes (nil
	// on one with one: a Buffer stays 64 bytes, one cache line).
	lanes *bufLanes
}

// bufLanes holds, per lane, the timeline value of the last submission on
// that lane whose batch writes (wrote) or reads (read) the buffer; 0: none
// (see Device.laneWaits). Each is stored under its lane's queue lock,
// right after the submission, so its values rise.
type bufLanes struct {
	wrote, read [vkx.MaxLanes]atomic.Uint64
}

// useCount is the state of an object that work in flight uses: how many
// users hold it, or -1 once it is closed. Taking a use and closing are each
// one atomic step, so an object can never be destroyed while a user that
// found it open still holds it.
type useCount struct{ n atomic.Int32 }

// tryUse takes a use unless the object is closed.
func (u *useCount) tryUse() bool {
	for {
		n := u.n.Load()
		if n < 0 {
			return false
		}
		if u.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release gives back a use taken by tryUse.
func (u *useCount) release() { u.n.Add(-1) }

// closed reports whether the object is closed.
func (u *useCount) closed() bool { return u.n.Load() < 0 }

// shut closes the object if nobody uses it. now: this call closed it (the
// caller destroys it); busy: users hold it and it stays open. Neither: it
// was closed already.
func (u *useCount) shut() (now, busy bool) {
	for {
		n := u.n.Load()
		switch {
		case n < 0:
			return false, false
		case n > 0:
			return false, true
		case u.n.CompareAndSwap(0, -1):
			return true, false
		}
	}
}

// kill closes the object whatever its users (Device.Close, once the device
// is idle); it reports whether it was open.
func (u *useCount) kill() bool { return u.n.Swap(-1) >= 0 }

// acquire takes a use of every buffer of bufs, or of none: it fails if one
// is closed.
func acquire(bufs []*Buffer) bool {
	for i, b := range bufs {
		if !b.use.tryUse() {
			releaseAll(bufs[:i])
			return false
		}
	}
	return true
}

// releaseAll gives back the uses acquire took.
func releaseAll(bufs []*Buffer) {
	for _, b := range bufs {
		b.use.release()
	}
}

// NewBuffer allocates size bytes of the given memory. Host-visible buffers
// start zeroed only if the driver zeroes them; write what you read.
func (d *Device) NewBuffer(size int, mem Memory) (*Buffer, error) {
	const op = "new buffer"
	if size <= 0 {
		return nil, errf(op, ErrInvalid, "size %d: a buffer needs at least one byte", size)
	}
	if mem != HostVisible && mem != DeviceLocal {
		return nil, errf(op, ErrInvalid, "unknown memory kind %d", int(mem))
	}
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	types := d.vd.Phys.MemoryTypes
	const coherent = vkx.MemHostVisible | vkx.MemHostCoherent
	pick := func(bits uint32) (int, bool) {
		if mem == HostVisible {
			return best(types, bits, coherent, vkx.MemHostCached, 0), true
		}
		// Device-local memory that is also host-visible and coherent
		// (unified memory, lavapipe) is mapped unless staging is forced.
		if !d.opts.ForceStaging {
			if t := best(types, bits, vkx.MemDeviceLocal|coherent, 0, 0); t >= 0 {
				return t, true
			}
		}
		return best(types, bits, vkx.MemDeviceLocal, 0, vkx.MemHostVisible), false
	}
	vb, err := d.vd.NewBuffer(uint64(size), pick)
	if err != nil {
		return nil, wrap(op, err)
	}
	b := &Buffer{d: d, vb: vb, size: size, mem: uint8(mem), mapped: vb.Mapped}
	if len(d.lanes) > 1 {
		b.lanes = new(bufLanes)
	}
	if err := d.track(b); err != nil {
		vb.Destroy()
		return nil, err
	}
	return b, nil
}

// best picks the memory type allowed by bits that has all of need, none of
// avoid if possible, and prefer if possible; -1 if none has need.
func best(types []vkx.MemoryType, bits, need, prefer, avoid uint32) int {
	bestIdx, bestScore := -1, -1
	for i, t := range types {
		if bits&(1<<i) == 0 || t.Flags&need != need {
			continue
		}
		score := 0
		if prefer != 0 && t.Flags&prefer == prefer {
			score += 2
		}
		if t.Flags&avoid == 0 {
			score++
		}
		if score > bestScore {
			bestIdx, bestScore = i, score
		}
	}
	return bestIdx
}

// NewBufferFrom allocates a buffer holding data, uploading it through x
// (see Upload).
func NewBufferFrom[T Elem](x io.Io, d *Device, mem Memory, data []T) (*Buffer, error) {
	b, err := d.NewBuffer(len(data)*vkx.SizeOf[T](), mem)
	if err != nil {
		return nil, err
	}
	if err := Upload(x, b, 0, data); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Size returns the buffer's size in bytes.
func (b *Buffer) Size() int { return b.size }

// Memory returns the kind of memory the buffer was allocated in.
func (b *Buffer) Memory() Memory { return Memory(b.mem) }

// Mapped reports whether the host can access the buffer directly.
func (b *Buffer) Mapped() bool { return b.mapped != nil }

// Bytes returns the mapped memory, or an error wrapping ErrNotMapped.
// The slice is valid until Close; do not touch it while GPU work that
// writes the buffer is in flight.
func (b *Buffer) Bytes() ([]byte, error) {
	if b.use.closed() {
		return nil, errf("bytes", ErrClosed, "buffer is closed")
	}
	if !b.Mapped() {
		return nil, errf("bytes", ErrNotMapped, "%s buffer; use Upload/Download", Memory(b.mem))
	}
	return b.mapped, nil
}

// View returns the mapped memory of b as a []T of Size()/sizeof(T)
// elements: a typed host view, valid until b is closed.
func View[T Elem](b *Buffer) ([]T, error) {
	mem, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return vkx.Slice[T](mem, 0, len(mem)/vkx.SizeOf[T]()), nil
}

func (b *Buffer) checkRange(op string, off, n int) error {
	if b == nil {
		return errf(op, ErrInvalid, "nil buffer")
	}
	if b.use.closed() {
		return errf(op, ErrClosed, "buffer is closed")
	}
	if off < 0 || n < 0 || off > b.size || n > b.size-off {
		return errf(op, ErrInvalid, "range [%d, %d) outside the %d-byte buffer", off, off+n, b.size)
	}
	return nil
}

// Upload copies src into b at byte offset off. Mapped buffers are written
// directly; others through a staging buffer and a copy submitted and
// awaited through x (a cancel point), on the transfer queue when one is
// open (Options.TransferQueue), so that it overlaps kernels running on the
// compute queue. As on one queue, the copy comes after the work submitted
// before it that uses b: on the transfer queue it waits, on the GPU, for
// the compute queue's last submission that reads or writes b, and a kernel
// submitted afterwards that uses b waits for the copy (see
// NewTransferBatch).
func Upload[T Elem](x io.Io, b *Buffer, off int, src []T) error {
	data := vkx.Bytes(src)
	if err := b.checkRange("upload", off, len(data)); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if b.Mapped() {
		return b.hostCopy("upload", off, data, true)
	}
	return b.d.staged(x, b, off, data, true)
}

// Download copies len(dst) elements from b at byte offset off into dst,
// directly from mapped buffers, otherwise through a staging buffer and a
// copy submitted and awaited through x, on the transfer queue when one is
// open (as Upload).
func Download[T Elem](x io.Io, b *Buffer, off int, dst []T) error {
	data := vkx.Bytes(dst)
	if err := b.checkRange("download", off, len(data)); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if b.Mapped() {
		return b.hostCopy("download", off, data, false)
	}
	return b.d.staged(x, b, off, data, false)
}

// hostCopy copies data into (up) or out of the mapped memory at off, as a
// user of the device: a Device.Close racing it waits for the copy, or
// comes first and the copy fails with ErrClosed (the memory is unmapped).
func (b *Buffer) hostCopy(op string, off int, data []byte, up bool) error {
	if !b.d.hold() {
		return errf(op, ErrClosed, "device is closed")
	}
	defer b.d.leave()
	if b.use.closed() {
		return errf(op, ErrClosed, "buffer is closed")
	}
	if up {
		copy(b.mapped[off:], data)
	} else {
		copy(data, b.mapped[off:])
	}
	return nil
}

// staged moves data between the host and an unmapped buffer through a
// temporary host-visible buffer.
func (d *Device) staged(x io.Io, b *Buffer, off int, data []byte, up bool) error {
	op := "download"
	if up {
		op = "upload"
	}
	st, err := d.NewBuffer(len(data), HostVisible)
	if err != nil {
		return err
	}
	// Through the transfer lane when there is one, so that the copy
	// overlaps kernels on the compute queue. Its submission waits on the GPU
	// for the compute lane's last submission that writes b (and, for an
	// upload, reads it): see Device.laneWaits.
	bt := d.newBatch(d.xfer != nil)
	bt.internal = true
	if up {
		copy(st.mapped, data)
		err = bt.Copy(b, off, st, 0, len(data))
	} else {
		err = bt.Copy(st, 0, b, off, len(data))
	}
	if err != nil {
		bt.Close()
		st.Close()
		return err
	}
	// The batch and staging buffer are released once the GPU is done with
	// them, even if this wait is canceled.
	_, err = d.submit(x, bt, func(ok bool) {
		if ok && !up {
			copy(data, st.mapped)
		}
		bt.Close()
		st.Close()
	}).Await(x)
	if err != nil {
		return wrapOp(op, err)
	}
	return nil
}

func wrapOp(op string, err error) error {
	if ge, ok := err.(*Error); ok {
		c := *ge
		c.Op = op + ": " + ge.Op
		return &c
	}
	return wrap(op, err)
}

// Close frees the buffer. It fails with ErrBusy while submitted work that
// uses it is still running, and with ErrDeviceLost when the device was lost
// with such work submitted (Device.Close releases the buffer then); a second Close returns nil, and so does a Close
// after (or while) Device.Close destroys it.
func (b *Buffer) Close() error {
	now, busy := b.use.shut()
	if busy {
		// Work that has finished may not have been reaped yet.
		b.d.reapDone()
		now, busy = b.use.shut()
	}
	if busy {
		if b.d.lostFlag.Load() {
			return &Error{Op: "close buffer", Detail: "a submitted batch used it when the device was lost; Device.Close releases the buffer", Err: ErrDeviceLost}
		}
		return errf("close buffer", ErrBusy, "a submitted batch still uses it")
	}
	if now && b.d.claim(b) {
		defer b.d.leave()
		b.vb.Destroy()
	}
	return nil
}

// destroy is Device.Close's: the device is idle and Close is its only
// user, so the buffer goes whatever its use count.
func (b *Buffer) destroy() {
	b.use.kill()
	b.vb.Destroy()
}
