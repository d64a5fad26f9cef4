//go:build unix

package iotest

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// Deadlines on the waits added beside the task model: locks, conditions,
// events, semaphores, pipes, child processes, file locks and datagram
// reads. Each wait is set up so that nothing but the deadline can end it,
// on every implementation (no second task needed: the holder is the test
// itself), and must end with the deadline error, not before the deadline,
// and leave the primitive usable.

// expireWait runs wait through an Io whose deadline is 20 ms away and
// checks it ended by that deadline.
func expireWait(t *testing.T, x io.Io, what string, wait func(y io.Io) error) {
	t.Helper()
	y, deadline, cancel := expiresIn(x, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := wait(y)
	if time.Since(start) > within {
		t.Fatalf("%s not ended by its deadline", what)
	}
	expired(t, what, err, deadline)
}

var _ = register("DeadlineLocks", func(t *testing.T, x io.Io) {
	var m io.Mutex
	if err := m.Lock(x); err != nil {
		t.Fatal(err)
	}
	expireWait(t, x, "Mutex.Lock", func(y io.Io) error { return m.Lock(y) })
	m.Unlock()
	if !m.TryLock() {
		t.Fatal("the mutex is held after a Lock that expired")
	}

	var c io.Condition
	expireWait(t, x, "Condition.Wait", func(y io.Io) error { return c.Wait(y, &m) })
	if m.TryLock() {
		t.Fatal("Condition.Wait returned without the mutex after its deadline")
	}
	m.Unlock()

	var e io.Event
	expireWait(t, x, "Event.Wait", func(y io.Io) error { return e.Wait(y) })
	e.Set()
	if err := e.Wait(x); err != nil {
		t.Fatal(err)
	}

	s := io.NewSemaphore(2)
	if err := s.Acquire(x, 1); err != nil {
		t.Fatal(err)
	}
	expireWait(t, x, "Semaphore.Acquire", func(y io.Io) error { return s.Acquire(y, 2) })
	if got := s.InUse(); got != 1 {
		t.Fatalf("InUse after an Acquire that expired = %d; want 1", got)
	}
	s.Release(1)

	var rw io.RwLock
	if err := rw.Lock(x); err != nil {
		t.Fatal(err)
	}
	expireWait(t, x, "RwLock.RLock", func(y io.Io) error { return rw.RLock(y) })
	rw.Unlock()
	if err := rw.RLock(x); err != nil {
		t.Fatal(err)
	}
	expireWait(t, x, "RwLock.Lock", func(y io.Io) error { return rw.Lock(y) })
	rw.RUnlock()
	if !rw.TryLock() {
		t.Fatal("the RwLock is held after waits that expired")
	}
	rw.Unlock()
})

var _ = register("DeadlinePipeRead", func(t *testing.T, x io.Io) {
	r, w, err := io.Pipe(x)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(x)
	defer r.Close(x)
	buf := make([]byte, 16)
	expireWait(t, x, "pipe read", func(y io.Io) error { _, err := r.Read(y, buf); return err })
	// Still usable: data written now is read.
	if _, err := w.Write(x, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(x, buf); err != nil || string(buf[:n]) != "after" {
		t.Fatalf("read after the deadline = %q, %v", buf[:n], err)
	}
})

var _ = register("DeadlineProcessWait", func(t *testing.T, x io.Io) {
	p, err := io.Spawn(x, io.Command{Path: "/bin/sleep", Args: []string{"sleep", "60"}, Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var st io.ExitStatus
	expireWait(t, x, "Process.Wait", func(y io.Io) error {
		var err error
		st, err = p.Wait(y)
		return err
	})
	if st.Signal != syscall.SIGTERM {
		t.Fatalf("child of a Wait that expired ended with %v; want SIGTERM", st)
	}
})

var _ = register("DeadlineFileLock", func(t *testing.T, x io.Io) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := io.Cwd().CreateFile(x, p, io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(x)
	b, err := io.Cwd().OpenFile(x, p, io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(x)
	if err := a.Lock(x, true); err != nil {
		t.Fatal(err)
	}
	expireWait(t, x, "File.Lock", func(y io.Io) error { return b.Lock(y, false) })
	if err := a.Unlock(x); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.TryLock(x, false); err != nil || !ok {
		t.Fatalf("TryLock after the holder unlocked = %v, %v", ok, err)
	}
})

var _ = register("DeadlineDatagramRead", func(t *testing.T, x io.Io) {
	c, err := io.ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(x)
	buf := make([]byte, 64)
	expireWait(t, x, "PacketConn.ReadFrom", func(y io.Io) error { _, _, err := c.ReadFrom(y, buf); return err })
	if _, err := c.WriteTo(x, []byte("ping"), c.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if n, _, err := c.ReadFrom(x, buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("ReadFrom after the deadline = %q, %v", buf[:n], err)
	}
})
