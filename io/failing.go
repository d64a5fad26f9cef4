package io

import (
	"time"
)

// Failing returns an Io on which every operation fails with ErrUnsupported:
// sleeping, files, sockets; Concurrent fails with ErrConcurrencyUnavailable, and
// Async runs the function inline (starting a function is a call, not an
// operation). Use it in tests to check that code handles I/O failure, and to
// prove that a piece of code does no I/O at all.
func Failing() Io { return Io{d: failing{ErrUnsupported}} }

// failing fails every operation with err: ErrUnsupported for Failing,
// ErrZeroIo for the zero Io.
type failing struct{ err error }

// fail returns the error of the operation op ("open", "read", "symlink", ...).
// Every method of failing returns f.fail(op), so that a Failing Io can be
// configured to give each operation the error a real system would.
func (f failing) fail(op string) error { return f.err }

func (failing) kind() Kind              { return KindFailing }
func (failing) acquireAsync() bool      { return false }
func (failing) releaseAsync()           {}
func (failing) acquireConcurrent() bool { return false }
func (failing) releaseConcurrent()      {}
func (failing) now() time.Time          { return time.Time{} }
func (f failing) sleepUntil(*task, time.Time) error {
	return f.err
}
func (f failing) openat(*task, int, string, int, uint32) (int, error) { return -1, f.err }
func (f failing) readv(*task, int, [][]byte, int64) (int, error)      { return 0, f.err }
func (f failing) writev(*task, int, [][]byte, int64) (int, error)     { return 0, f.err }
func (f failing) read(*task, int, []byte, int64) (int, error)         { return 0, f.err }
func (f failing) write(*task, int, []byte, int64) (int, error)        { return 0, f.err }
func (f failing) fsync(*task, int) error                              { return f.err }
func (f failing) ftruncate(*task, int, int64) error                   { return f.err }
func (f failing) fstat(*task, int) (FileInfo, error)                  { return FileInfo{}, f.err }
func (f failing) fstatat(*task, int, string, bool) (FileInfo, error)  { return FileInfo{}, f.err }
func (f failing) closeFd(*task, int) error                            { return f.err }
func (f failing) renameat(*task, int, string, int, string) error      { return f.err }
func (f failing) unlinkat(*task, int, string, bool) error             { return f.err }
func (f failing) mkdirat(*task, int, string, uint32) error            { return f.err }
func (f failing) listen(*task, string, string) (netListener, error)   { return nil, f.err }
func (f failing) dial(*task, string, string) (netConn, error)         { return nil, f.err }

// zeroIo is the driver of the zero Io: it fails every operation with
// ErrZeroIo, so that a forgotten Io is reported instead of crashing on a nil
// pointer.
var zeroIo driver = failing{ErrZeroIo}

// drv returns x's driver, or zeroIo for the zero Io.
func (x Io) drv() driver {
	if x.d == nil {
		return zeroIo
	}
	return x.d
}
