package gpu

import (
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// laneSub is one submission seen by testHooks.submitted.
type laneSub struct {
	batch *Batch
	lane  int
	value uint64
	waits waitSet
}

// laneLog records a device's submissions (two lanes only: the hook runs
// there alone).
type laneLog struct {
	mu   sync.Mutex
	subs []laneSub
}

func watchLanes(d *Device) *laneLog {
	l := &laneLog{}
	d.testHooks.submitted = func(b *Batch, lane int, v uint64, w waitSet) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.subs = append(l.subs, laneSub{b, lane, v, w})
	}
	return l
}

// take returns the submissions since the last take.
func (l *laneLog) take() []laneSub {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.subs
	l.subs = nil
	return s
}

// only returns the one submission since the last take, failing otherwise.
func (l *laneLog) only(t *testing.T, what string) laneSub {
	t.Helper()
	s := l.take()
	if len(s) != 1 {
		t.Fatalf("%s: %d submissions, want 1: %+v", what, len(s), s)
	}
	return s[0]
}

// TestLaneWaitsAfterHostWait: on a device with two lanes, a submission that
// uses a buffer waits on the GPU for the other lane's last submission that
// wrote it (or, if it writes the buffer, read it), even when the host has
// already waited for that submission and it was reaped: a host wait does
// not make one queue's writes visible to another queue. Staged uploads and
// downloads (ForceStaging) run on the transfer lane, the kernel on the
// compute lane; lavapipe's one queue would order them anyway, so the waits
// are read from the submissions themselves (testHooks.submitted), and the
// results checked under synchronization validation.
func TestLaneWaitsAfterHostWait(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		d := twoLane(t, Options{ForceStaging: true})
		log := watchLanes(d)
		const n = 1 << 12
		k := must(d.NewKernel(shaders.SAXPY(), nil))
		defer k.Close()
		bx := must(d.NewBuffer(4*n, DeviceLocal))
		defer bx.Close()
		by := must(d.NewBuffer(4*n, DeviceLocal))
		defer by.Close()
		xs, ys := make([]float32, n), make([]float32, n)
		for i := range xs {
			xs[i], ys[i] = float32(i), 1
		}

		// Upload on the transfer lane, awaited on the host.
		check(t, Upload(x, bx, 0, xs))
		up := log.only(t, "upload x")
		if up.lane != d.xfer.vl.Index || up.waits != (waitSet{}) {
			t.Fatalf("upload into an unused buffer: lane %d, waits %v", up.lane, up.waits)
		}
		check(t, Upload(x, by, 0, ys))
		upY := log.only(t, "upload y")
		if done := must(d.xfer.vl.Completed()); done < upY.value {
			t.Fatalf("the upload was awaited, yet the transfer timeline is at %d < %d", done, upY.value)
		}

		// A kernel after the host wait: its submission waits on the
		// transfer lane's value all the same.
		kb := d.NewBatch()
		defer kb.Close()
		check(t, kb.Dispatch(k, k.Groups(n), Push(float32(2), uint32(n)), bx, by))
		c := must(d.Run(x, kb))
		ks := log.only(t, "kernel")
		if ks.lane != 0 || ks.value != c.Value {
			t.Fatalf("kernel submission %+v, completion value %d", ks, c.Value)
		}
		if want := max(up.value, upY.value); ks.waits[d.xfer.vl.Index] != want {
			t.Fatalf("the kernel waits %v, want the transfer lane's %d (its uploads)", ks.waits, want)
		}

		// The kernel's submission is reaped: nothing uses y any more.
		d.reapDone()
		if n := by.use.n.Load(); n != 0 {
			t.Fatalf("y still has %d uses after the kernel was reaped", n)
		}
		// A download of what the kernel wrote waits for the kernel.
		got := make([]float32, n)
		check(t, Download(x, by, 0, got))
		down := log.only(t, "download y")
		if down.lane != d.xfer.vl.Index || down.waits[0] != c.Value {
			t.Fatalf("download of y after the reaped kernel: lane %d, waits %v, want compute value %d", down.lane, down.waits, c.Value)
		}
		for i, v := range got {
			if !saxpyOK(2, xs[i], ys[i], v) {
				t.Fatalf("y[%d] = %g, want 2*%g+%g", i, v, xs[i], ys[i])
			}
		}
		// An upload into x, which the kernel only read, waits for the
		// kernel too (it must not overwrite x under it).
		check(t, Upload(x, bx, 0, ys))
		if w := log.only(t, "upload x again"); w.waits[0] != c.Value {
			t.Fatalf("upload into x after the kernel that read it: waits %v, want compute value %d", w.waits, c.Value)
		}
		// A download of x only reads it: what the kernel read does not
		// order it, the upload on its own lane does.
		check(t, Download(x, bx, 0, got))
		if w := log.only(t, "download x"); w.waits != (waitSet{}) {
			t.Fatalf("download of x after reads on the compute lane: waits %v, want none", w.waits)
		}
		if got[0] != 1 || got[n-1] != 1 {
			t.Fatalf("x after the second upload: %g ... %g", got[0], got[n-1])
		}
	})
}

// TestLaneWaitsTransferBatch: the same ordering for the user's own transfer
// batches, without After: a kernel that reads what a transfer batch wrote
// waits for it, and a transfer batch that reads what the kernel wrote waits
// for the kernel; a transfer batch that shares no buffer with the compute
// lane's work waits for nothing (it may overlap kernels), and neither does
// one that only reads what the compute lane also only read.
func TestLaneWaitsTransferBatch(t *testing.T) {
	x := io.NewBlocking().Io()
	d := twoLane(t, Options{})
	log := watchLanes(d)
	const n = 256
	k := must(d.NewKernel(shaders.SAXPY(), nil))
	defer k.Close()
	bx := must(d.NewBuffer(4*n, DeviceLocal))
	defer bx.Close()
	by := must(d.NewBuffer(4*n, DeviceLocal))
	defer by.Close()
	host := must(d.NewBuffer(4*n, HostVisible))
	defer host.Close()
	other := must(d.NewBuffer(4*n, DeviceLocal))
	defer other.Close()
	xi := d.xfer.vl.Index

	fill := d.NewTransferBatch()
	defer fill.Close()
	check(t, fill.Fill(bx, 0, 4*n, 0x3f800000)) // 1.0
	check(t, fill.Fill(by, 0, 4*n, 0x40000000)) // 2.0
	must(d.Run(x, fill))
	f := log.only(t, "fill")

	kb := d.NewBatch()
	defer kb.Close()
	check(t, kb.Dispatch(k, k.Groups(n), Push(float32(3), uint32(n)), bx, by))
	must(d.Run(x, kb))
	ks := log.only(t, "kernel")
	if ks.waits[xi] != f.value {
		t.Fatalf("kernel after the fill: waits %v, want transfer value %d", ks.waits, f.value)
	}

	// Reads x (read by the kernel: no wait) and y (written by it: wait).
	rb := d.NewTransferBatch()
	defer rb.Close()
	check(t, rb.Copy(host, 0, by, 0, 4*n))
	must(d.Run(x, rb))
	if r := log.only(t, "readback"); r.waits[0] != ks.value {
		t.Fatalf("readback of y: waits %v, want compute value %d", r.waits, ks.value)
	}
	if got := must(View[float32](host)); got[0] != 5 || got[n-1] != 5 {
		t.Fatalf("y = %g ... %g, want 3*1+2", got[0], got[n-1])
	}
	rx := d.NewTransferBatch()
	defer rx.Close()
	check(t, rx.Copy(other, 0, bx, 0, 4*n))
	must(d.Run(x, rx))
	if r := log.only(t, "copy of x"); r.waits != (waitSet{}) {
		t.Fatalf("a copy reading x, which the compute lane only read: waits %v, want none", r.waits)
	}
	un := d.NewTransferBatch()
	defer un.Close()
	check(t, un.Fill(host, 0, 4*n, 0))
	must(d.Run(x, un))
	if r := log.only(t, "unrelated fill"); r.waits != (waitSet{}) {
		t.Fatalf("a transfer batch sharing no buffer with the compute lane: waits %v", r.waits)
	}
	// After still adds its wait (on the compute lane's last value here).
	check(t, un.After(kb))
	must(d.Run(x, un))
	if r := log.only(t, "fill after kb"); r.waits[0] != ks.value {
		t.Fatalf("After(kb): waits %v, want %d", r.waits, ks.value)
	}
}

// TestLaneWaitsOneLane: a device with one lane keeps no per-buffer lane
// records and runs no two-lane bookkeeping, and its Buffer is one cache
// line.
func TestLaneWaitsOneLane(t *testing.T) {
	x := io.NewBlocking().Io()
	if n := unsafe.Sizeof(Buffer{}); n != 64 && unsafe.Sizeof(uintptr(0)) == 8 {
		t.Errorf("Buffer is %d bytes, want 64", n)
	}
	d, _ := open(t, Options{ForceStaging: true})
	log := watchLanes(d)
	_, c, b := tiny(t, x, d)
	must(d.Run(x, b))
	buf := must(d.NewBuffer(64, DeviceLocal))
	defer buf.Close()
	check(t, Upload(x, buf, 0, make([]uint32, 16)))
	if s := log.take(); len(s) != 0 {
		t.Fatalf("two-lane bookkeeping on a one-lane device: %+v", s)
	}
	for _, x := range []*Buffer{c, buf} {
		if x.lanes != nil {
			t.Fatal("a one-lane device's buffer has lane records")
		}
	}
	if b.acc != nil {
		t.Fatal("a one-lane device's batch keeps buffer accesses")
	}
}

// TestWakeRetried: when signalling the wake semaphore fails (injected
// here), the completion goroutine's wait, which covers the compute lane
// alone while a long batch runs there, is still ended soon, by the retried
// signal: the transfer lane's work is completed before the long batch, not
// after it. (As in TestCompleterWakesForOtherLane, the transfer lane's work
// is completed from the host, since lavapipe's lanes share one queue.)
func TestWakeRetried(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d := twoLane(t, Options{})
	b, done := heavy(t, d)
	defer done()
	f := d.Submit(x, b)
	heavyValue := d.lanes[0].vl.Last()
	for !d.completerWaits(d.lanes[0].bit) {
		time.Sleep(100 * time.Microsecond)
	}
	const failures = 3
	d.vd.InjectFault(vkx.FaultWake, vkx.ErrorOutOfHostMemory, failures)
	tb := d.NewTransferBatch()
	defer tb.Close()
	pr := io.NewPromise[*Completion]()
	p := &pending{batch: tb, lane: d.xfer, promise: pr}
	func() {
		l := d.xfer.vl
		l.Mu.Lock()
		defer l.Mu.Unlock()
		p.value = must(l.SignalLocked())
		p.submitted = time.Now()
		if !d.addPending(p, true) {
			t.Error("the completion goroutine's wait covers the transfer lane")
		}
	}()
	d.wake() // as queue does
	c, err := pr.Future().Await(x)
	check(t, err)
	if c.Queue != "transfer" || c.Value != p.value {
		t.Fatalf("completion %+v, want the transfer lane's value %d", c, p.value)
	}
	if v := must(d.lanes[0].vl.Completed()); v >= heavyValue {
		t.Fatalf("the transfer lane's work was completed only after the compute lane's (timeline %d >= %d): the failed wake was not retried", v, heavyValue)
	}
	if left := d.vd.FaultsLeft(vkx.FaultWake); left != 0 {
		t.Fatalf("%d of %d injected wake failures left", left, failures)
	}
	must(f.Await(x))
}

// TestWakeRetryEndsAtClose: a wake that keeps failing is retried every
// waitRetry until the device is closed; Close ends the retries and waits
// for the retrying goroutine.
func TestWakeRetryEndsAtClose(t *testing.T) {
	d, err := Open(Options{Validation: true, SyncValidation: true, TransferQueue: true, sharedTransfer: true})
	check(t, err)
	const budget = 1 << 20
	d.vd.InjectFault(vkx.FaultWake, vkx.ErrorOutOfHostMemory, budget)
	d.wake()
	for deadline := time.Now().Add(time.Minute); budget-d.vd.FaultsLeft(vkx.FaultWake) < 4; {
		if time.Now().After(deadline) {
			t.Fatalf("%d tries of a failing wake in a minute", budget-d.vd.FaultsLeft(vkx.FaultWake))
		}
		time.Sleep(time.Millisecond)
	}
	if !retrying(d) {
		t.Fatal("a failing wake is not being retried")
	}
	check(t, d.Close())
	if retrying(d) {
		t.Fatal("wake retries go on after Close")
	}
	tries := budget - d.vd.FaultsLeft(vkx.FaultWake)
	time.Sleep(10 * waitRetry)
	if now := budget - d.vd.FaultsLeft(vkx.FaultWake); now != tries {
		t.Fatalf("%d wake tries after Close", now-tries)
	}
	for _, m := range d.Messages() {
		t.Errorf("validation message: %s", m)
	}
}

// retrying reports whether wake's retrying goroutine runs.
func retrying(d *Device) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.wakeRetrying
}

// TestPresentWaits: a Present of a buffer the transfer lane wrote waits for
// that write (the present's copy runs on the compute queue); one only the
// compute lane wrote, or on a one-lane device, waits for nothing. (The
// present itself needs a window: package window tests it, on one lane.)
func TestPresentWaits(t *testing.T) {
	x := io.NewBlocking().Io()
	d := twoLane(t, Options{ForceStaging: true})
	log := watchLanes(d)
	buf := must(d.NewBuffer(64, DeviceLocal))
	defer buf.Close()
	if w := d.presentWaits(buf); w != (waitSet{}) {
		t.Fatalf("a buffer never written: present waits %v", w)
	}
	check(t, Upload(x, buf, 0, make([]uint32, 16)))
	up := log.only(t, "upload")
	if w := d.presentWaits(buf); w[d.xfer.vl.Index] != up.value || w[0] != 0 {
		t.Fatalf("after a staged upload at %d: present waits %v", up.value, w)
	}
	one, _ := open(t, Options{ForceStaging: true})
	b1 := must(one.NewBuffer(64, DeviceLocal))
	defer b1.Close()
	check(t, Upload(x, b1, 0, make([]uint32, 16)))
	if w := one.presentWaits(b1); w != (waitSet{}) {
		t.Fatalf("one lane: present waits %v", w)
	}
}
