//go:build linux

// Package uring is a small, cgo-free binding of Linux io_uring over
// golang.org/x/sys/unix: ring setup and teardown, the shared submission and
// completion queues with the memory ordering the kernel expects, io_uring_enter,
// eventfd registration and opcode probing. It knows nothing about requests'
// meaning; package io builds the Evented implementation on it.
//
// It is the one place in vkio's io area that uses unsafe: the rings are memory
// shared with the kernel, and submission entries carry addresses of Go memory that
// the caller must keep pinned (runtime.Pinner) until the entry's completion arrives.
//
// Memory ordering: the submission tail is published with an atomic store after the
// entries are written, and the completion head with an atomic store after the
// entries are read; the kernel's tails and heads are read with atomic loads. Go's
// sync/atomic operations are sequentially consistent, which is at least the
// acquire/release pairing the kernel's smp_store_release/smp_load_acquire need.
//
// A Ring is not safe for concurrent use on its own: callers serialise the
// submission side (GetSQE, Publish) with one lock and the completion side (Reap)
// with another. Enter may be called from any goroutine at any time.
package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Opcodes (enum io_uring_op in linux/io_uring.h), with the Linux release that
// added each.
const (
	OpNop         uint8 = 0  // 5.1
	OpReadv       uint8 = 1  // 5.1
	OpWritev      uint8 = 2  // 5.1
	OpFsync       uint8 = 3  // 5.1
	OpTimeout     uint8 = 11 // 5.4
	OpAccept      uint8 = 13 // 5.5
	OpAsyncCancel uint8 = 14 // 5.5
	OpConnect     uint8 = 16 // 5.5
	OpOpenat      uint8 = 18 // 5.6
	OpClose       uint8 = 19 // 5.6
	OpStatx       uint8 = 21 // 5.6
	OpRead        uint8 = 22 // 5.6
	OpWrite       uint8 = 23 // 5.6
	OpSend        uint8 = 26 // 5.6
	OpRecv        uint8 = 27 // 5.6
	OpRenameat    uint8 = 35 // 5.11
	OpUnlinkat    uint8 = 36 // 5.11
	OpMkdirat     uint8 = 37 // 5.15
	OpSymlinkat   uint8 = 38 // 5.15
	OpLinkat      uint8 = 39 // 5.15
	OpFtruncate   uint8 = 55 // 6.9
)

// Setup flags, features, ring flags and enter flags.
const (
	SetupCQSize    uint32 = 1 << 3
	SetupClamp     uint32 = 1 << 4
	SetupSubmitAll uint32 = 1 << 7

	FeatSingleMmap uint32 = 1 << 0
	FeatNoDrop     uint32 = 1 << 1

	SQNeedWakeup uint32 = 1 << 0
	SQCQOverflow uint32 = 1 << 1
	// CQEventfdDisabled (IORING_CQ_EVENTFD_DISABLED) in the completion
	// ring's flags stops the kernel from signalling the registered eventfd.
	CQEventfdDisabled uint32 = 1 << 0

	EnterGetEvents uint32 = 1 << 0

	TimeoutAbs uint32 = 1 << 0
)

const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	registerEventfd = 4
	registerProbe   = 8

	opSupported = 1
)

// SQE is a submission queue entry (struct io_uring_sqe, 64 bytes). OpFlags is
// the per-opcode flags word (rw_flags, open_flags, timeout_flags, ...); Off is
// also addr2.
type SQE struct {
	Opcode      uint8
	Flags       uint8
	IoPrio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	SpliceFdIn  int32
	Addr3       uint64
	_           uint64
}

// CQE is a completion queue entry (struct io_uring_cqe, 16 bytes).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

type sqOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

type cqOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

type params struct {
	SqEntries, CqEntries, Flags, SqThreadCPU, SqThreadIdle, Features, WqFd uint32
	Resv                                                                   [3]uint32
	SqOff                                                                  sqOffsets
	CqOff                                                                  cqOffsets
}

// Compile-time checks of the ABI sizes.
var (
	_ [64 - unsafe.Sizeof(SQE{})]struct{}
	_ [unsafe.Sizeof(SQE{}) - 64]struct{}
	_ [16 - unsafe.Sizeof(CQE{})]struct{}
	_ [120 - unsafe.Sizeof(params{})]struct{}
	_ [unsafe.Sizeof(params{}) - 120]struct{}
)

// Options configures a ring.
type Options struct {
	Entries   uint32 // submission queue size (rounded up to a power of two by the kernel)
	CQEntries uint32 // completion queue size; 0 means the kernel's default (2 × Entries)
}

// ErrNoDrop is returned by New when the kernel lacks IORING_FEAT_NODROP (Linux
// 5.5), without which completions may be lost on overflow.
var ErrNoDrop = errors.New("uring: kernel lacks IORING_FEAT_NODROP")

// Ring is one io_uring instance.
type Ring struct {
	fd       int
	sqMem    []byte
	cqMem    []byte // aliases sqMem with FeatSingleMmap
	sqeMem   []byte
	features uint32
	single   bool // one mapping for both rings

	sqHead, sqTail, sqFlags *uint32
	sqMask, sqEntries       uint32
	sqes                    unsafe.Pointer
	sqLocal                 uint32 // our tail, not yet necessarily published

	cqHead, cqTail, cqOverflow *uint32
	cqFlags                    *uint32 // nil before Linux 5.8 (no IORING_CQ_EVENTFD_DISABLED)
	cqMask, cqEntries          uint32
	cqes                       unsafe.Pointer

	enters atomic.Uint64 // io_uring_enter calls made
}

// New sets up a ring. A refusal by the kernel (ENOSYS, EPERM from seccomp or
// kernel.io_uring_disabled, ENOMEM from memlock limits) is returned as the
// unix.Errno, wrapped.
func New(opts Options) (*Ring, error) {
	var p params
	p.Flags = SetupClamp | SetupSubmitAll
	if opts.CQEntries > 0 {
		p.Flags |= SetupCQSize
		p.CqEntries = opts.CQEntries
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(opts.Entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno == unix.EINVAL && p.Flags&SetupSubmitAll != 0 {
		// Kernels before 5.18 lack SUBMIT_ALL; the caller copes with a short
		// submission either way.
		p = params{Flags: p.Flags &^ SetupSubmitAll, CqEntries: p.CqEntries}
		fd, _, errno = unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(opts.Entries), uintptr(unsafe.Pointer(&p)), 0)
	}
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd), features: p.Features}
	if p.Features&FeatNoDrop == 0 {
		unix.Close(r.fd)
		return nil, ErrNoDrop
	}
	if err := r.mmap(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mmap(p *params) error {
	sqSize := int(p.SqOff.Array + p.SqEntries*4)
	cqSize := int(p.CqOff.Cqes + p.CqEntries*uint32(unsafe.Sizeof(CQE{})))
	single := p.Features&FeatSingleMmap != 0
	r.single = single
	if single && cqSize > sqSize {
		sqSize = cqSize
	}
	var err error
	r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap sq ring: %w", err)
	}
	if single {
		r.cqMem = r.sqMem
	} else {
		r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return fmt.Errorf("mmap cq ring: %w", err)
		}
	}
	r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.SqEntries)*int(unsafe.Sizeof(SQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap sqes: %w", err)
	}
	sq := unsafe.Pointer(&r.sqMem[0])
	r.sqHead = (*uint32)(unsafe.Add(sq, p.SqOff.Head))
	r.sqTail = (*uint32)(unsafe.Add(sq, p.SqOff.Tail))
	r.sqFlags = (*uint32)(unsafe.Add(sq, p.SqOff.Flags))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.SqOff.RingMask))
	r.sqEntries = *(*uint32)(unsafe.Add(sq, p.SqOff.RingEntries))
	r.sqes = unsafe.Pointer(&r.sqeMem[0])
	// The index array maps ring slots to entries; identity, set once.
	array := unsafe.Slice((*uint32)(unsafe.Add(sq, p.SqOff.Array)), r.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.sqLocal = atomic.LoadUint32(r.sqTail)

	cq := unsafe.Pointer(&r.cqMem[0])
	r.cqHead = (*uint32)(unsafe.Add(cq, p.CqOff.Head))
	r.cqTail = (*uint32)(unsafe.Add(cq, p.CqOff.Tail))
	r.cqOverflow = (*uint32)(unsafe.Add(cq, p.CqOff.Overflow))
	r.cqMask = *(*uint32)(unsafe.Add(cq, p.CqOff.RingMask))
	r.cqEntries = *(*uint32)(unsafe.Add(cq, p.CqOff.RingEntries))
	r.cqes = unsafe.Add(cq, p.CqOff.Cqes)
	if p.CqOff.Flags != 0 {
		r.cqFlags = (*uint32)(unsafe.Add(cq, p.CqOff.Flags))
	}
	return nil
}

// Close unmaps the rings and closes the ring's descriptor. Requests still in
// flight are canceled by the kernel; their memory must stay valid until then, so
// callers close only a quiet ring.
func (r *Ring) Close() error {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && !r.single {
		_ = unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		_ = unix.Munmap(r.sqMem)
	}
	r.sqeMem, r.cqMem, r.sqMem = nil, nil, nil
	if r.fd >= 0 {
		err := unix.Close(r.fd)
		r.fd = -1
		return err
	}
	return nil
}

// Fd returns the ring's descriptor.
func (r *Ring) Fd() int { return r.fd }

// SQEntries returns the size of the submission queue.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }

// CQEntries returns the size of the completion queue.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// Enters returns how many io_uring_enter calls the ring has made.
func (r *Ring) Enters() uint64 { return r.enters.Load() }

// GetSQE returns the next free submission entry, zeroed, or nil if the queue is
// full (entries written but not yet consumed by the kernel fill it). The entry
// becomes visible to the kernel at the next Publish.
func (r *Ring) GetSQE() *SQE {
	head := atomic.LoadUint32(r.sqHead)
	if r.sqLocal-head >= r.sqEntries {
		return nil
	}
	sqe := (*SQE)(unsafe.Add(r.sqes, uintptr(r.sqLocal&r.sqMask)*unsafe.Sizeof(SQE{})))
	*sqe = SQE{}
	r.sqLocal++
	return sqe
}

// Publish makes the entries returned by GetSQE visible to the kernel.
func (r *Ring) Publish() { atomic.StoreUint32(r.sqTail, r.sqLocal) }

// Unsubmitted returns how many published entries the kernel has not consumed.
func (r *Ring) Unsubmitted() uint32 { return atomic.LoadUint32(r.sqTail) - atomic.LoadUint32(r.sqHead) }

// Enter calls io_uring_enter. It returns the number of entries submitted.
func (r *Ring) Enter(toSubmit, minComplete, flags uint32) (int, error) {
	r.enters.Add(1)
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), 0, 0)
	if errno != 0 {
		return int(n), errno
	}
	return int(n), nil
}

// CQOverflowPending reports whether the kernel holds completions that did not
// fit the completion queue; an Enter with EnterGetEvents moves them in.
func (r *Ring) CQOverflowPending() bool { return atomic.LoadUint32(r.sqFlags)&SQCQOverflow != 0 }

// Dropped returns the number of completions the kernel lost (only possible when
// it could not allocate memory for an overflowed completion).
func (r *Ring) Dropped() uint32 { return atomic.LoadUint32(r.cqOverflow) }

// Reap calls fn for each completion in the queue, oldest first, and releases
// their slots. It returns how many it saw.
func (r *Ring) Reap(fn func(CQE)) int {
	n := 0
	for {
		head := atomic.LoadUint32(r.cqHead)
		tail := atomic.LoadUint32(r.cqTail)
		if head == tail {
			return n
		}
		for ; head != tail; head++ {
			cqe := *(*CQE)(unsafe.Add(r.cqes, uintptr(head&r.cqMask)*unsafe.Sizeof(CQE{})))
			fn(cqe)
			n++
		}
		atomic.StoreUint32(r.cqHead, head)
	}
}

// CanMuteEventfd reports whether MuteEventfd works (Linux 5.8 and later).
func (r *Ring) CanMuteEventfd() bool { return r.cqFlags != nil }

// MuteEventfd stops (mute) or restarts the kernel's signals to the registered
// eventfd. Completions posted while it is muted signal nothing: whoever unmutes
// must look at the queue afterwards (CQReady). Without kernel support it does
// nothing.
func (r *Ring) MuteEventfd(mute bool) {
	if r.cqFlags == nil {
		return
	}
	for {
		old := atomic.LoadUint32(r.cqFlags)
		nw := old &^ CQEventfdDisabled
		if mute {
			nw |= CQEventfdDisabled
		}
		if old == nw || atomic.CompareAndSwapUint32(r.cqFlags, old, nw) {
			return
		}
	}
}

// CQReady reports whether completions are waiting in the queue or in the
// kernel's overflow list.
func (r *Ring) CQReady() bool {
	return atomic.LoadUint32(r.cqHead) != atomic.LoadUint32(r.cqTail) || r.CQOverflowPending()
}

// RegisterEventfd makes the kernel signal the eventfd efd on every completion.
func (r *Ring) RegisterEventfd(efd int) error {
	fd := int32(efd)
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEventfd, uintptr(unsafe.Pointer(&fd)), 1, 0, 0)
	if errno != 0 {
		return fmt.Errorf("io_uring_register eventfd: %w", errno)
	}
	return nil
}

type probeOp struct {
	Op    uint8
	_     uint8
	Flags uint16
	_     uint32
}

type probe struct {
	LastOp uint8
	OpsLen uint8
	_      uint16
	_      [3]uint32
	Ops    [256]probeOp
}

// Supported reports which opcodes the kernel supports (IORING_REGISTER_PROBE,
// Linux 5.6); on older kernels it reports an error.
func (r *Ring) Supported() (func(op uint8) bool, error) {
	p := new(probe)
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerProbe, uintptr(unsafe.Pointer(p)), 256, 0, 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_register probe: %w", errno)
	}
	return func(op uint8) bool {
		return op <= p.LastOp && int(op) < int(p.OpsLen) && p.Ops[op].Flags&opSupported != 0
	}, nil
}
