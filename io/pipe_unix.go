//go:build unix

package io

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollFile is a descriptor read and written through the runtime's poller:
// an *os.File made from it in non-blocking mode, whose RawConn runs the
// system calls and parks the goroutine in the poller while they would
// block. The *os.File owns the descriptor.
type pollFile struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool
	rd, wr sharedDeadline // cancels move the read or the write deadline
}

// newOpenedFile returns the File for fd, just opened at name: for a FIFO, a
// character device (a terminal) or a socket, one read through the poller.
func newOpenedFile(fd int, name string) *File {
	f := newFile(fd, name)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return f
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFSOCK:
		f.pipe = newPollFile(fd, name)
	}
	return f
}

// newPipeEnd returns the File for fd, one end of a pipe in non-blocking mode.
func newPipeEnd(fd int, name string) *File {
	f := newFile(fd, name)
	f.pipe = newPollFile(fd, name)
	return f
}

// newPollFile puts fd in non-blocking mode and registers it with the
// runtime's poller. A descriptor the poller refuses (a device without poll
// support, such as /dev/null or /dev/zero, which never make a reader wait)
// goes back to blocking mode; its calls then simply block. It returns nil,
// leaving fd to the plain system calls, when fd cannot be made non-blocking.
func newPollFile(fd int, name string) *pollFile {
	if unix.SetNonblock(fd, true) != nil {
		return nil
	}
	of := os.NewFile(uintptr(fd), name)
	if of.SetReadDeadline(time.Time{}) != nil { // not in the poller
		_ = unix.SetNonblock(fd, false)
	}
	rc, err := of.SyscallConn()
	if err != nil { // only for a closed *os.File
		_ = unix.SetNonblock(fd, false)
		return nil
	}
	p := &pollFile{f: of, rc: rc}
	p.rd.d = deadlineFunc(of.SetReadDeadline)
	p.wr.d = deadlineFunc(of.SetWriteDeadline)
	return p
}

// shut wakes the operations parked on p with ErrClosed and keeps any from
// waiting again, without closing the descriptor: Close does this while
// other operations hold the File, and the last of them closes it (see
// File.drop), so that none of them can reach a descriptor number the system
// has meanwhile given to another file.
func (p *pollFile) shut() {
	p.closed.Store(true)
	p.rd.shut()
	p.wr.shut()
}

// close closes the *os.File: parked reads and writes return ErrClosed, and
// the descriptor is closed once they have.
func (p *pollFile) close() error {
	p.closed.Store(true)
	err := p.f.Close()
	if errors.Is(err, os.ErrClosed) {
		return nil // already closed, by Close or the last operation's drop
	}
	return sysErr(err)
}

// readv reads into bufs once data is there (or at end of file: 0, nil).
func (p *pollFile) readv(t *task, bufs [][]byte) (int, error) {
	return p.transfer(t, bufs, false)
}

// writev writes some of bufs once there is room.
func (p *pollFile) writev(t *task, bufs [][]byte) (int, error) {
	return p.transfer(t, bufs, true)
}

// transfer is one read (or write) of bufs through the poller: it waits,
// in the RawConn's Read (Write), until the system call — the plain one for
// a single buffer, the vectored one for several — does not block, with
// cancellation through the direction's shared deadline.
func (p *pollFile) transfer(t *task, bufs [][]byte, write bool) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	g, wait, one, vec := &p.rd, p.rc.Read, unix.Read, readvSys
	if write {
		g, wait, one, vec = &p.wr, p.rc.Write, unix.Write, writevSys
	}
	var n int
	var serr error
	guard := g.guard(t)
	call := func(fd uintptr) bool {
		for {
			if len(bufs) == 1 {
				n, serr = one(int(fd), bufs[0])
			} else {
				n, serr = vec(int(fd), bufs)
			}
			if serr != unix.EINTR {
				return serr != unix.EAGAIN
			}
		}
	}
	err := wait(call)
	for err != nil && !p.closed.Load() && spurious(t, err) {
		err = wait(call)
	}
	guard.release()
	return p.result(t, n, serr, err)
}

// result is the outcome of a read or write: the system call's (n, serr),
// unless the poller's wait failed (err): a cancel, or a Close meanwhile.
func (p *pollFile) result(t *task, n int, serr, err error) (int, error) {
	if err != nil {
		if t.isCanceled() && errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, t.err()
		}
		if p.closed.Load() { // the os package's "use of closed file"
			return 0, ErrClosed
		}
		return 0, sysErr(err)
	}
	if n < 0 {
		n = 0
	}
	return n, serr
}

// The reads and writes of a pipeDriver at the file position go through the
// poller; a positional one is refused as the kernel would refuse it.

func (d pipeDriver) readv(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, unix.ESPIPE
	}
	return d.p.readv(t, bufs)
}

func (d pipeDriver) read(t *task, fd int, b []byte, off int64) (int, error) {
	return d.readv(t, fd, [][]byte{b}, off)
}

func (d pipeDriver) writev(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return 0, unix.ESPIPE
	}
	return d.p.writev(t, bufs)
}

func (d pipeDriver) write(t *task, fd int, b []byte, off int64) (int, error) {
	return d.writev(t, fd, [][]byte{b}, off)
}
