package io

import (
	"time"
)

// Failing returns an Io on which every operation fails with ErrUnsupported:
// sleeping, files, sockets; Concurrent fails with ErrConcurrencyUnavailable, and
// Async runs the function inline (starting a function is a call, not an
// operation). Use it in tests to check that code handles I/O failure, and to
// prove that a piece of code does no I/O at all.
func Failing() Io { return Io{d: failing{}} }

type failing struct{}

func (failing) kind() Kind              { return KindFailing }
func (failing) acquireAsync() bool      { return false }
func (failing) releaseAsync()           {}
func (failing) acquireConcurrent() bool { return false }
func (failing) releaseConcurrent()      {}
func (failing) now() time.Time          { return time.Time{} }
func (failing) sleepUntil(*task, time.Time) error {
	return ErrUnsupported
}
func (failing) openat(*task, int, string, int, uint32) (int, error) { return -1, ErrUnsupported }
func (failing) readv(*task, int, [][]byte, int64) (int, error)      { return 0, ErrUnsupported }
func (failing) writev(*task, int, [][]byte, int64) (int, error)     { return 0, ErrUnsupported }
func (failing) read(*task, int, []byte, int64) (int, error)         { return 0, ErrUnsupported }
func (failing) write(*task, int, []byte, int64) (int, error)        { return 0, ErrUnsupported }
func (failing) fsync(*task, int) error                              { return ErrUnsupported }
func (failing) ftruncate(*task, int, int64) error                   { return ErrUnsupported }
func (failing) fstat(*task, int) (FileInfo, error)                  { return FileInfo{}, ErrUnsupported }
func (failing) fstatat(*task, int, string, bool) (FileInfo, error)  { return FileInfo{}, ErrUnsupported }
func (failing) closeFd(*task, int) error                            { return ErrUnsupported }
func (failing) renameat(*task, int, string, int, string) error      { return ErrUnsupported }
func (failing) unlinkat(*task, int, string, bool) error             { return ErrUnsupported }
func (failing) mkdirat(*task, int, string, uint32) error            { return ErrUnsupported }
func (failing) listen(*task, string, string) (netListener, error)   { return nil, ErrUnsupported }
func (failing) dial(*task, string, string) (netConn, error)         { return nil, ErrUnsupported }
