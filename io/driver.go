package io

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// driver is the table of operations behind an Io: what differs between the
// implementations. Operations take the cancel state of the calling task (nil for
// the root) and return t.err(), unwrapped, when it cuts them short; the public
// wrappers add the operation and path.
type driver interface {
	kind() Kind

	// Spawning. acquireAsync reports whether Async may start a goroutine (the
	// caller then calls releaseAsync when it ends); false means run inline.
	acquireAsync() bool
	releaseAsync()
	acquireConcurrent() bool
	releaseConcurrent()

	// Time.
	now() time.Time
	sleepUntil(t *task, deadline time.Time) error

	// Files. dir is a directory descriptor or atFdCwd; off < 0 means at the file
	// position. readv and writev may be short.
	openat(t *task, dir int, path string, flags int, perm uint32) (int, error)
	readv(t *task, fd int, bufs [][]byte, off int64) (int, error)
	writev(t *task, fd int, bufs [][]byte, off int64) (int, error)
	// read and write are readv and writev of one buffer: a caller with one
	// would otherwise allocate the vector, which escapes through this
	// interface (each implementation builds it where it does not).
	read(t *task, fd int, p []byte, off int64) (int, error)
	write(t *task, fd int, p []byte, off int64) (int, error)
	fsync(t *task, fd int) error
	ftruncate(t *task, fd int, size int64) error
	fstat(t *task, fd int) (FileInfo, error)
	fstatat(t *task, dir int, path string, follow bool) (FileInfo, error) // follow: of a symbolic link, describe its target
	closeFd(t *task, fd int) error
	renameat(t *task, oldDir int, oldPath string, newDir int, newPath string) error
	unlinkat(t *task, dir int, path string, removeDir bool) error
	mkdirat(t *task, dir int, path string, perm uint32) error
	dirDriver // directories, links, permissions, times, seek, locks, copies (dir_ops.go)

	// Sockets.
	listen(t *task, network, address string) (netListener, error)
	dial(t *task, network, address string) (netConn, error)

	sendFileDriver // sendfile.go
	clockDriver    // clock.go
	externalDriver // external.go
	procDriver     // processes and pipes (process.go)
	netExtDriver   // listen options, datagram sockets, name lookups (netopts.go)
}

// netListener and netConn are a driver's sockets.
type netListener interface {
	accept(t *task) (netConn, error)
	addr() net.Addr
	close() error
}

type netConn interface {
	read(t *task, p []byte) (int, error)
	write(t *task, p []byte) (int, error)
	writev(t *task, bufs [][]byte) (int, error)
	closeWrite() error
	close() error
	localAddr() net.Addr
	remoteAddr() net.Addr
}

// Backend is an Io implementation: it hands out its Io and releases what it holds
// on Close. Blocking, Threaded and Evented are Backends.
type Backend interface {
	// Io returns the root Io of the implementation.
	Io() Io
	// Kind names the implementation.
	Kind() Kind
	// Close releases the implementation's resources. Tasks must have finished.
	Close() error
}

// Kinds lists the implementation names that New accepts, best first.
func Kinds() []Kind { return []Kind{KindEvented, KindThreaded, KindBlocking} }

// New returns the implementation named kind: "evented", "threaded", "blocking",
// or "" / "auto" for the best available one: Evented where the kernel allows
// io_uring, otherwise Threaded (FallbackReason says why; nothing is logged).
// New("evented") reports a refusal as an *EventedUnavailableError. An unknown
// name is an error that lists the valid ones.
func New(kind string) (Backend, error) {
	switch Kind(strings.ToLower(strings.TrimSpace(kind))) {
	case "", "auto":
		return newAuto(), nil
	case KindEvented:
		e, err := NewEvented(EventedOptions{})
		if err != nil {
			return nil, opErr("new", "", err)
		}
		return e, nil
	case KindThreaded:
		return NewThreaded(ThreadedOptions{}), nil
	case KindBlocking:
		return NewBlocking(), nil
	}
	names := make([]string, 0, 3)
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return nil, opErr("new", "", fmt.Errorf("%w: unknown Io implementation %q (want one of: %s, auto)",
		ErrInvalid, kind, strings.Join(names, ", ")))
}

// Blocking is the single-threaded implementation: Async runs the function to
// completion before it returns, Concurrent always fails, and every operation
// blocks the calling goroutine until it completes. It needs no setup; the zero
// value is ready.
type Blocking struct{ sysDriver }

// NewBlocking returns the Blocking implementation.
func NewBlocking() *Blocking { return &Blocking{} }

// Io returns the root Io.
func (b *Blocking) Io() Io { return Io{d: b} }

// Kind returns KindBlocking.
func (b *Blocking) Kind() Kind { return KindBlocking }

// Close does nothing and returns nil.
func (b *Blocking) Close() error { return nil }

func (b *Blocking) kind() Kind              { return KindBlocking }
func (b *Blocking) acquireAsync() bool      { return false }
func (b *Blocking) releaseAsync()           {}
func (b *Blocking) acquireConcurrent() bool { return false }
func (b *Blocking) releaseConcurrent()      {}

// ThreadedOptions configures a Threaded implementation.
type ThreadedOptions struct {
	// AsyncLimit bounds the tasks that Async runs on goroutines at once; beyond it,
	// Async runs the function inline. 0 means 4 × GOMAXPROCS.
	AsyncLimit int
	// ConcurrentLimit bounds the tasks that Concurrent runs at once; beyond it,
	// Concurrent fails with ErrConcurrencyUnavailable. 0 means 10000.
	ConcurrentLimit int
}

// Threaded runs tasks on a bounded pool of goroutines, with blocking system
// calls for files (the Go runtime moves a blocked thread out of the way) and the
// runtime's network poller for sockets. Cancellation interrupts waits promptly:
// sleeps, queue and group waits, socket reads, writes, accepts and dials.
type Threaded struct {
	sysDriver
	asyncLimit, concurrentLimit int64
	async, concurrent           atomic.Int64
}

// NewThreaded returns a Threaded implementation.
func NewThreaded(opts ThreadedOptions) *Threaded {
	t := &Threaded{asyncLimit: int64(opts.AsyncLimit), concurrentLimit: int64(opts.ConcurrentLimit)}
	if t.asyncLimit <= 0 {
		t.asyncLimit = int64(4 * runtime.GOMAXPROCS(0))
	}
	if t.concurrentLimit <= 0 {
		t.concurrentLimit = 10000
	}
	return t
}

// Io returns the root Io.
func (p *Threaded) Io() Io { return Io{d: p} }

// Kind returns KindThreaded.
func (p *Threaded) Kind() Kind { return KindThreaded }

// Close returns nil; the pool holds no resources between tasks.
func (p *Threaded) Close() error { return nil }

func (p *Threaded) kind() Kind { return KindThreaded }

func (p *Threaded) acquireAsync() bool { return acquire(&p.async, p.asyncLimit) }
func (p *Threaded) releaseAsync()      { p.async.Add(-1) }
func (p *Threaded) acquireConcurrent() bool {
	return acquire(&p.concurrent, p.concurrentLimit)
}
func (p *Threaded) releaseConcurrent() { p.concurrent.Add(-1) }

func acquire(n *atomic.Int64, limit int64) bool {
	for {
		v := n.Load()
		if v >= limit {
			return false
		}
		if n.CompareAndSwap(v, v+1) {
			return true
		}
	}
}
