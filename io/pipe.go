package io

import (
	"errors"
	"io/fs"
	"os"
)

// Pipes, FIFOs, terminals and sockets opened as files can wait forever for
// the other side: a blocking read(2) of them cannot be interrupted, so a
// File of one of them (OpenFile, CreateFile and CreateAtomic find out with
// fstat; Pipe and Spawn make them) is put in non-blocking mode and read and
// written through an *os.File registered with the Go runtime's poller, on
// every implementation (Evented included: the poller, not the ring, waits
// for them). A cancel moves the descriptor's read or write deadline into the
// past, as for a socket, and the parked operation returns the task's cancel
// error. Regular files, directories and block devices are not touched.

// Pipe returns a new pipe: what is written to w is read from r, in order,
// and r reads io.EOF once w is closed (writes to w fail with EPIPE once r
// is closed). Both are Files whose Read and Write (and Reader and Writer)
// wait in the runtime's poller and are cancel points on every
// implementation. Pipe is a cancel point at its start only. On Windows it
// fails with an error matching ErrUnsupported.
func Pipe(x Io) (r, w *File, err error) {
	if x.t.isCanceled() {
		return nil, nil, opErr("pipe", "", x.t.err())
	}
	start := x.start()
	rfd, wfd, err := x.drv().pipe(x.t)
	x.observe(start, "file", "pipe", "", 0, err)
	if err != nil {
		return nil, nil, opErr("pipe", "", err)
	}
	return newPipeEnd(rfd, "|0"), newPipeEnd(wfd, "|1"), nil
}

// drv returns the driver for f's reads and writes: x's, or, for a File
// read through the poller, one that goes there (except for Failing, whose
// errors are the point).
func (f *File) drv(x Io) driver {
	d := x.drv()
	if f.pipe == nil {
		return d
	}
	if _, ok := d.(failing); ok {
		return d
	}
	return pipeDriver{d, f.pipe}
}

// closeFd closes f's descriptor when the last operation on a closed File
// ends (see File.drop).
func (f *File) closeFd() {
	if f.pipe != nil {
		_ = f.pipe.close()
		return
	}
	closeRaw(f.fd)
}

// pipeDriver is a driver whose reads and writes of a descriptor at its
// position go through the runtime's poller (p).
type pipeDriver struct {
	driver
	p *pollFile
}

// sysErr returns the system error inside err, an *os.PathError or
// *os.SyscallError of the os package, so that a syscall.Errno comes through
// as it does from the drivers, and a closed file is ErrClosed.
func sysErr(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}
