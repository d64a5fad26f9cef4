package io

import (
	"sync/atomic"
	"syscall"
	"time"
)

// Failing returns an Io on which every operation fails with ErrUnsupported:
// sleeping, files, sockets; Concurrent fails with ErrConcurrencyUnavailable, and
// Async runs the function inline (starting a function is a call, not an
// operation). Use it in tests to check that code handles I/O failure, and to
// prove that a piece of code does no I/O at all. FailingWith makes operations
// fail the way a real system does instead, and only where a plan says.
func Failing() Io { return Io{d: failing{err: ErrUnsupported}} }

// FailPlan says which operations of a FailingWith Io fail, when, and with
// what error.
//
// Operations are named as in Error.Op: "open", "read", "write", "sync",
// "truncate", "stat", "close", "rename", "remove", "mkdir" for files;
// "listen", "dial", "accept", and "net.read", "net.write", "net.close" for
// sockets (a plan without "net.read" gives socket reads the fault of "read",
// and so on); "sleep"; "clock"; and, for Io.External, the name its caller
// gives ("gpu.submit" for GPU submissions).
// Operations that other parts of the package add are named the same way
// ("symlink", "readlink", ...). Calls are counted per name, over every Io
// derived from the one FailingWith returns, from all goroutines.
type FailPlan struct {
	// Ops maps an operation's name to how it fails.
	Ops map[string]Fault
	// Base, if not the zero Io, runs every call that does not fail: the
	// operations not in Ops (unless Default is set), and the calls a Fault
	// spares (After, Times). Tasks are spawned by Base too (Async,
	// Concurrent), and Kind reports Base's kind. Operations that this
	// package's fault layer does not know pass straight to Base.
	Base Io
	// Default is the error of operations not in Ops. Nil means: run them on
	// Base, or, without Base, fail with ErrUnsupported.
	Default error
}

// Fault is how one operation fails: the calls numbered After+1 to
// After+Times (counting from 1) fail with Err; the others run on
// FailPlan.Base (without a Base they fail with FailPlan.Default, or
// ErrUnsupported).
type Fault struct {
	// Err is the error the failing calls return, wrapped in an *Error that
	// names the operation. Give a syscall.Errno for a realistic one:
	// errors.Is then matches fs.ErrNotExist, fs.ErrPermission and so on as
	// it does for a real failure. Nil picks what the system most often
	// gives for the operation: ENOENT for open, stat and remove, EIO for
	// read, sync, truncate and close, ENOSPC for write, EXDEV for rename,
	// EEXIST for mkdir, EADDRINUSE for listen, ECONNREFUSED for dial,
	// EMFILE for accept, ECONNRESET for net.read, EPIPE for net.write;
	// ErrUnsupported for the rest.
	Err error
	// After is how many calls succeed before the first failure.
	After int
	// Times is how many calls fail after those; 0 means every later call.
	Times int
}

// realistic is the error Fault.Err = nil stands for.
var realistic = map[string]error{
	"open":      syscall.ENOENT,
	"stat":      syscall.ENOENT,
	"remove":    syscall.ENOENT,
	"read":      syscall.EIO,
	"sync":      syscall.EIO,
	"truncate":  syscall.EIO,
	"close":     syscall.EIO,
	"write":     syscall.ENOSPC,
	"rename":    syscall.EXDEV,
	"mkdir":     syscall.EEXIST,
	"listen":    syscall.EADDRINUSE,
	"dial":      syscall.ECONNREFUSED,
	"accept":    syscall.EMFILE,
	"net.read":  syscall.ECONNRESET,
	"net.write": syscall.EPIPE,
}

// FailingWith returns an Io whose operations fail as plan says, each with
// the error a real system gives (see Fault), so that a test can check, say,
// that the third write of a save failing with ENOSPC leaves no partial
// file:
//
//	x := io.FailingWith(io.FailPlan{
//		Base: io.NewBlocking().Io(),
//		Ops:  map[string]io.Fault{"write": {Err: syscall.ENOSPC, After: 2, Times: 1}},
//	})
//
// The returned Io, and every Io derived from it, is safe for concurrent use;
// the plan's counters are shared by all of them. Plan is copied; do not
// change its map afterwards.
func FailingWith(plan FailPlan) Io {
	p := &failPlan{dflt: plan.Default, ops: make(map[string]*opFault, len(plan.Ops))}
	for op, f := range plan.Ops {
		of := &opFault{Fault: f}
		if of.Err == nil {
			of.Err = realistic[op]
			if of.Err == nil {
				of.Err = ErrUnsupported
			}
		}
		p.ops[op] = of
	}
	if plan.Base.d == nil {
		return Io{d: failing{err: ErrUnsupported, plan: p}}
	}
	// The Base's task and observer come along: cancellation and
	// observation work as on the Base.
	return Io{d: faultDriver{driver: plan.Base.d, f: failing{err: ErrUnsupported, plan: p}}, t: plan.Base.t, o: plan.Base.o}
}

// failPlan is a FailPlan in force; ops is read-only after FailingWith.
type failPlan struct {
	ops  map[string]*opFault
	dflt error
}

// opFault is one operation's Fault and its call count.
type opFault struct {
	Fault
	calls atomic.Int64
}

// trip counts a call of op and returns its error, or nil if the call is
// to run (on Base); ok is false if op is not in the plan.
func (p *failPlan) trip(op string) (err error, ok bool) {
	f := p.ops[op]
	if f == nil {
		return nil, false
	}
	n := f.calls.Add(1) // this call's number, from 1
	if n <= int64(f.After) || (f.Times > 0 && n > int64(f.After)+int64(f.Times)) {
		return nil, true
	}
	return f.Err, true
}

// failing fails every operation: with err (ErrUnsupported for Failing,
// ErrZeroIo for the zero Io), or as plan says (FailingWith without a Base).
// It is a value type, and every method of it returns f.fail(op).
type failing struct {
	err  error
	plan *failPlan // nil: every operation fails with err
}

// fail returns the error of the operation op ("open", "read", "symlink", ...).
// Every method of failing returns f.fail(op), so that a Failing Io can be
// configured to give each operation the error a real system would.
func (f failing) fail(op string) error {
	if f.plan == nil {
		return f.err
	}
	if err, ok := f.plan.trip(op); ok && err != nil {
		return err
	}
	if f.plan.dflt != nil {
		return f.plan.dflt
	}
	return f.err // a spared call, or an op not in the plan: there is no Base to run it
}

// check returns the error of op with a Base to run spared calls on: nil
// means run the call on the Base.
func (f failing) check(op string) error {
	if err, ok := f.plan.trip(op); ok {
		return err
	}
	return f.plan.dflt
}

// checkNet is check for a socket operation: "net."+op if the plan has it,
// op otherwise.
func (f failing) checkNet(op string) error {
	if _, ok := f.plan.ops["net."+op]; ok {
		return f.check("net." + op)
	}
	return f.check(op)
}

func (failing) kind() Kind              { return KindFailing }
func (failing) acquireAsync() bool      { return false }
func (failing) releaseAsync()           {}
func (failing) acquireConcurrent() bool { return false }
func (failing) releaseConcurrent()      {}
func (failing) now() time.Time          { return time.Time{} }
func (f failing) sleepUntil(*task, time.Time) error {
	return f.fail("sleep")
}
func (f failing) openat(*task, int, string, int, uint32) (int, error) { return -1, f.fail("open") }
func (f failing) readv(*task, int, [][]byte, int64) (int, error)      { return 0, f.fail("read") }
func (f failing) writev(*task, int, [][]byte, int64) (int, error)     { return 0, f.fail("write") }
func (f failing) read(*task, int, []byte, int64) (int, error)         { return 0, f.fail("read") }
func (f failing) write(*task, int, []byte, int64) (int, error)        { return 0, f.fail("write") }
func (f failing) fsync(*task, int) error                              { return f.fail("sync") }
func (f failing) ftruncate(*task, int, int64) error                   { return f.fail("truncate") }
func (f failing) fstat(*task, int) (FileInfo, error)                  { return FileInfo{}, f.fail("stat") }
func (f failing) fstatat(*task, int, string, bool) (FileInfo, error) {
	return FileInfo{}, f.fail("stat")
}
func (f failing) closeFd(*task, int) error                          { return f.fail("close") }
func (f failing) renameat(*task, int, string, int, string) error    { return f.fail("rename") }
func (f failing) unlinkat(*task, int, string, bool) error           { return f.fail("remove") }
func (f failing) mkdirat(*task, int, string, uint32) error          { return f.fail("mkdir") }
func (f failing) listen(*task, string, string) (netListener, error) { return nil, f.fail("listen") }
func (f failing) dial(*task, string, string) (netConn, error)       { return nil, f.fail("dial") }

// faultDriver is FailingWith with a Base: each operation the plan fails
// returns its error, every other runs on the Base's driver. Operations it
// does not override (added elsewhere in the package) pass straight to the
// Base.
type faultDriver struct {
	driver // the Base's
	f      failing
}

func (d faultDriver) sleepUntil(t *task, deadline time.Time) error {
	if err := d.f.check("sleep"); err != nil {
		return err
	}
	return d.driver.sleepUntil(t, deadline)
}

func (d faultDriver) openat(t *task, dir int, path string, flags int, perm uint32) (int, error) {
	if err := d.f.check("open"); err != nil {
		return -1, err
	}
	return d.driver.openat(t, dir, path, flags, perm)
}

func (d faultDriver) readv(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	if err := d.f.check("read"); err != nil {
		return 0, err
	}
	return d.driver.readv(t, fd, bufs, off)
}

func (d faultDriver) writev(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	if err := d.f.check("write"); err != nil {
		return 0, err
	}
	return d.driver.writev(t, fd, bufs, off)
}

func (d faultDriver) read(t *task, fd int, p []byte, off int64) (int, error) {
	if err := d.f.check("read"); err != nil {
		return 0, err
	}
	return d.driver.read(t, fd, p, off)
}

func (d faultDriver) write(t *task, fd int, p []byte, off int64) (int, error) {
	if err := d.f.check("write"); err != nil {
		return 0, err
	}
	return d.driver.write(t, fd, p, off)
}

func (d faultDriver) fsync(t *task, fd int) error {
	if err := d.f.check("sync"); err != nil {
		return err
	}
	return d.driver.fsync(t, fd)
}

func (d faultDriver) ftruncate(t *task, fd int, size int64) error {
	if err := d.f.check("truncate"); err != nil {
		return err
	}
	return d.driver.ftruncate(t, fd, size)
}

func (d faultDriver) fstat(t *task, fd int) (FileInfo, error) {
	if err := d.f.check("stat"); err != nil {
		return FileInfo{}, err
	}
	return d.driver.fstat(t, fd)
}

func (d faultDriver) fstatat(t *task, dir int, path string, follow bool) (FileInfo, error) {
	if err := d.f.check("stat"); err != nil {
		return FileInfo{}, err
	}
	return d.driver.fstatat(t, dir, path, follow)
}

// closeFd closes the descriptor even when the plan fails the call, as
// close(2) does on Linux whatever it reports: a failed close leaks nothing.
func (d faultDriver) closeFd(t *task, fd int) error {
	err := d.f.check("close")
	cerr := d.driver.closeFd(t, fd)
	if err != nil {
		return err
	}
	return cerr
}

func (d faultDriver) renameat(t *task, oldDir int, oldPath string, newDir int, newPath string) error {
	if err := d.f.check("rename"); err != nil {
		return err
	}
	return d.driver.renameat(t, oldDir, oldPath, newDir, newPath)
}

func (d faultDriver) unlinkat(t *task, dir int, path string, removeDir bool) error {
	if err := d.f.check("remove"); err != nil {
		return err
	}
	return d.driver.unlinkat(t, dir, path, removeDir)
}

func (d faultDriver) mkdirat(t *task, dir int, path string, perm uint32) error {
	if err := d.f.check("mkdir"); err != nil {
		return err
	}
	return d.driver.mkdirat(t, dir, path, perm)
}

func (d faultDriver) clockNow(c Clock) (time.Duration, error) {
	if err := d.f.check("clock"); err != nil {
		return 0, err
	}
	return d.driver.clockNow(c)
}

func (d faultDriver) clockResolution(c Clock) (time.Duration, error) {
	if err := d.f.check("clock"); err != nil {
		return 0, err
	}
	return d.driver.clockResolution(c)
}

func (d faultDriver) listen(t *task, network, address string) (netListener, error) {
	if err := d.f.check("listen"); err != nil {
		return nil, err
	}
	l, err := d.driver.listen(t, network, address)
	if err != nil {
		return nil, err
	}
	return faultListener{l, d.f}, nil
}

func (d faultDriver) dial(t *task, network, address string) (netConn, error) {
	if err := d.f.check("dial"); err != nil {
		return nil, err
	}
	c, err := d.driver.dial(t, network, address)
	if err != nil {
		return nil, err
	}
	return faultConn{c, d.f}, nil
}

// faultListener and faultConn are a Base's sockets under a plan.
type faultListener struct {
	netListener
	f failing
}

func (l faultListener) accept(t *task) (netConn, error) {
	if err := l.f.check("accept"); err != nil {
		return nil, err
	}
	c, err := l.netListener.accept(t)
	if err != nil {
		return nil, err
	}
	return faultConn{c, l.f}, nil
}

type faultConn struct {
	netConn
	f failing
}

func (c faultConn) read(t *task, p []byte) (int, error) {
	if err := c.f.checkNet("read"); err != nil {
		return 0, err
	}
	return c.netConn.read(t, p)
}

func (c faultConn) write(t *task, p []byte) (int, error) {
	if err := c.f.checkNet("write"); err != nil {
		return 0, err
	}
	return c.netConn.write(t, p)
}

func (c faultConn) writev(t *task, bufs [][]byte) (int, error) {
	if err := c.f.checkNet("write"); err != nil {
		return 0, err
	}
	return c.netConn.writev(t, bufs)
}

// close closes the socket even when the plan fails the call (see closeFd).
func (c faultConn) close() error {
	err := c.f.checkNet("close")
	cerr := c.netConn.close()
	if err != nil {
		return err
	}
	return cerr
}

// zeroIo is the driver of the zero Io: it fails every operation with
// ErrZeroIo, so that a forgotten Io is reported instead of crashing on a nil
// pointer.
var zeroIo driver = failing{err: ErrZeroIo}

// drv returns x's driver, or zeroIo for the zero Io.
func (x Io) drv() driver {
	if x.d == nil {
		return zeroIo
	}
	return x.d
}
