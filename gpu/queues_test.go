package gpu

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// TestQueueCounts: Info reports the compute family's queue count (at least
// one on a usable device) and a dedicated transfer family's (0 or more).
func TestQueueCounts(t *testing.T) {
	d, _ := open(t, Options{})
	in := d.Info()
	if in.ComputeQueues < 1 {
		t.Fatalf("ComputeQueues = %d on a usable device", in.ComputeQueues)
	}
	if in.TransferQueues < 0 {
		t.Fatalf("TransferQueues = %d", in.TransferQueues)
	}
	devs := must(Devices())
	if got := devs[in.Index]; got.ComputeQueues != in.ComputeQueues || got.TransferQueues != in.TransferQueues {
		t.Fatalf("Devices() says %d/%d queues, Info %d/%d", got.ComputeQueues, got.TransferQueues, in.ComputeQueues, in.TransferQueues)
	}
}

// TestOptionsQueue: every queue of the compute family opens and runs work;
// one past the last fails with ErrInvalid naming the device and the count,
// and so does a negative index.
func TestOptionsQueue(t *testing.T) {
	x := io.NewBlocking().Io()
	d0, _ := open(t, Options{})
	count := d0.Info().ComputeQueues
	for q := range min(count, 4) {
		d, _ := open(t, Options{Queue: q})
		if d.Queue() != q {
			t.Fatalf("Queue() = %d, opened with %d", d.Queue(), q)
		}
		_, c, b := tiny(t, x, d)
		for range 3 {
			_, err := d.Run(x, b)
			check(t, err)
		}
		got := make([]uint32, 4)
		check(t, Download(x, c, 0, got))
		if got[0] != 3 {
			t.Fatalf("queue %d: counter %d after 3 runs, want 3", q, got[0])
		}
		check(t, b.Close())
		check(t, c.Close())
	}
	for _, q := range []int{count, -1} {
		d, err := Open(Options{Queue: q})
		if err == nil {
			d.Close()
			t.Fatalf("Open with Queue %d of %d: no error", q, count)
		}
		var ge *Error
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &ge) {
			t.Fatalf("Open with Queue %d: %v, want an *Error matching ErrInvalid", q, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, d0.Info().Name) || !strings.Contains(msg, strconv.Itoa(count)+" compute queue") {
			t.Fatalf("Open with Queue %d: %q does not name the device and its %d queues", q, msg, count)
		}
	}
}

// twoLane opens a device with a transfer lane: the dedicated transfer
// queue where the device has one, else (lavapipe) the test seam, a transfer
// lane with its own timeline on the compute queue.
func twoLane(t *testing.T, opts Options) *Device {
	t.Helper()
	opts.TransferQueue = true
	opts.sharedTransfer = true
	d, _ := open(t, opts)
	if d.xfer == nil || len(d.lanes) != 2 {
		t.Fatalf("no transfer lane: %d lanes", len(d.lanes))
	}
	return d
}

// TestTransferBatch: a transfer batch takes copies, fills, barriers and
// timestamps and refuses dispatches; it runs on the transfer lane where
// there is one and on the compute queue otherwise, with the same results.
func TestTransferBatch(t *testing.T) {
	x := io.NewBlocking().Io()
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"one lane", Options{}, "compute"},
		{"two lanes", Options{TransferQueue: true, sharedTransfer: true}, "transfer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := open(t, tc.opts)
			if d.TransferQueue() != (d.Info().TransferQueues > 0 && tc.opts.TransferQueue) {
				t.Fatalf("TransferQueue() = %v with %d transfer queues", d.TransferQueue(), d.Info().TransferQueues)
			}
			k := must(d.NewKernel(shaders.Tiny(), nil))
			defer k.Close()
			src := must(NewBufferFrom(x, d, HostVisible, []uint32{1, 2, 3, 4}))
			defer src.Close()
			dst := must(d.NewBuffer(32, HostVisible))
			defer dst.Close()
			b := d.NewTransferBatch()
			defer b.Close()
			c := d.NewBatch()
			defer c.Close()
			if !b.Transfer() || c.Transfer() {
				t.Fatal("Transfer() does not tell the batches apart")
			}
			if err := b.Dispatch(k, [3]uint32{1, 1, 1}, nil, src); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Dispatch on a transfer batch: %v, want ErrInvalid", err)
			}
			if err := b.DispatchIndirect(k, src, 0, nil, src); !errors.Is(err, ErrInvalid) {
				t.Fatalf("DispatchIndirect on a transfer batch: %v, want ErrInvalid", err)
			}
			check(t, b.Timestamp("start"))
			check(t, b.Fill(dst, 16, 16, 7))
			check(t, b.Copy(dst, 0, src, 0, 16))
			check(t, b.Barrier())
			check(t, b.Timestamp("end"))
			want := tc.want
			if tc.want == "transfer" && (!d.vd.HostQueryReset || d.TransferQueue() && d.vd.Phys.TransferTimestampBits == 0) {
				want = "compute" // a transfer family that cannot take timestamps
			}
			for i := range 3 {
				c := must(d.Run(x, b))
				if c.Queue != want {
					t.Fatalf("run %d: Completion.Queue %q, want %q", i, c.Queue, want)
				}
				if span, ok := c.Span("start", "end"); !ok || span < 0 {
					t.Fatalf("run %d: stamps %v", i, c.Stamps)
				}
			}
			got := make([]uint32, 8)
			check(t, Download(x, dst, 0, got))
			if want := []uint32{1, 2, 3, 4, 7, 7, 7, 7}; !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			// Plain batches run on the compute lane.
			check(t, c.Fill(dst, 0, 4, 1))
			if got := must(d.Run(x, c)).Queue; got != "compute" {
				t.Fatalf("a plain batch ran on %q", got)
			}
		})
	}
}

// TestAfterErrors: After needs a batch of the same device that has been
// submitted; a closed batch waits for nothing.
func TestAfterErrors(t *testing.T) {
	x := io.NewBlocking().Io()
	d := twoLane(t, Options{})
	other, _ := open(t, Options{})
	buf := must(d.NewBuffer(16, HostVisible))
	defer buf.Close()
	a, b := d.NewBatch(), d.NewTransferBatch()
	defer a.Close()
	defer b.Close()
	check(t, a.Fill(buf, 0, 16, 1))
	check(t, b.Fill(buf, 0, 16, 2))
	if err := b.After(a); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "never been submitted") {
		t.Fatalf("After a batch never submitted: %v", err)
	}
	if err := b.After(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("After(nil): %v", err)
	}
	ob := other.NewBatch()
	defer ob.Close()
	check(t, ob.Barrier())
	must(other.Run(x, ob))
	if err := b.After(ob); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "another device") {
		t.Fatalf("After a batch of another device: %v", err)
	}
	c1 := must(d.Run(x, a))
	check(t, b.After(a))
	check(t, b.After(a)) // twice: one wait
	if b.waits[0] != c1.Value || b.waits[1] != 0 {
		t.Fatalf("waits %v after After(a) at value %d", b.waits, c1.Value)
	}
	must(d.Run(x, b))
	if b.waits != (waitSet{}) {
		t.Fatalf("the submission left waits %v", b.waits)
	}
	closed := d.NewBatch()
	check(t, closed.Close())
	if err := closed.After(a); !errors.Is(err, ErrClosed) {
		t.Fatalf("After on a closed batch: %v", err)
	}
}

// TestTwoLanePipeline streams SAXPY over chunks through both lanes, as W3
// does: upload chunk i on the transfer lane, the kernel (after the upload)
// on the compute lane, the readback (after the kernel) on the transfer
// lane, with up to three chunks in flight and no wait on the host between
// them; device-local buffers are unmapped (ForceStaging). Every result is
// checked, under validation with synchronization validation.
func TestTwoLanePipeline(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		for _, lanes := range []int{1, 2} {
			t.Run(strconv.Itoa(lanes)+" lanes", func(t *testing.T) {
				opts := Options{ForceStaging: true}
				var d *Device
				if lanes == 2 {
					d = twoLane(t, opts)
				} else {
					d, _ = open(t, opts)
				}
				p := newSaxpyPipe(t, x, d, 1<<12, 3)
				defer p.close()
				r := rand.New(rand.NewPCG(1, 2))
				const chunks = 12
				xs, ys := make([][]float32, chunks), make([][]float32, chunks)
				for i := range chunks {
					xs[i], ys[i] = randFloats(r, p.n), randFloats(r, p.n)
				}
				for i := range chunks + 2 {
					if i < chunks {
						p.upload(i, xs[i], ys[i])
					}
					if j := i - 1; j >= 0 && j < chunks {
						p.kernel(j)
					}
					if j := i - 2; j >= 0 {
						out := p.readback(j)
						for e := range out {
							if !saxpyOK(p.a, xs[j][e], ys[j][e], out[e]) {
								t.Fatalf("chunk %d, element %d: %g, want %g*%g+%g", j, e, out[e], p.a, xs[j][e], ys[j][e])
							}
						}
					}
				}
				if lanes == 2 && p.seen["transfer"] == 0 {
					t.Fatalf("nothing ran on the transfer lane: %v", p.seen)
				}
			})
		}
	})
}

// saxpyPipe is TestTwoLanePipeline's (and W3's) ring of slots: each holds
// a chunk's host-visible staging buffers, device-local x and y, and the
// three batches (upload, kernel, readback) of the chunk in it.
type saxpyPipe struct {
	t     testing.TB
	x     io.Io
	d     *Device
	n     int
	a     float32
	k     *Kernel
	slots []*saxpySlot
	seen  map[string]int
}

type saxpySlot struct {
	hx, hy, dx, dy    *Buffer // host staging (x, y in; y out), device x and y
	up, kern, down    *Batch
	fUp, fKern, fDown *io.Future[*Completion]
	hxView, hyView    []float32
	pendingKernel     bool
}

func newSaxpyPipe(t testing.TB, x io.Io, d *Device, n, slots int) *saxpyPipe {
	t.Helper()
	p := &saxpyPipe{t: t, x: x, d: d, n: n, a: 2.5, seen: map[string]int{}}
	p.k = must(d.NewKernel(shaders.SAXPY(), nil))
	for range slots {
		s := &saxpySlot{
			hx: must(d.NewBuffer(4*n, HostVisible)), hy: must(d.NewBuffer(4*n, HostVisible)),
			dx: must(d.NewBuffer(4*n, DeviceLocal)), dy: must(d.NewBuffer(4*n, DeviceLocal)),
		}
		s.hxView, s.hyView = must(View[float32](s.hx)), must(View[float32](s.hy))
		s.up = d.NewTransferBatch()
		check(t, s.up.Copy(s.dx, 0, s.hx, 0, 4*n))
		check(t, s.up.Copy(s.dy, 0, s.hy, 0, 4*n))
		s.kern = d.NewBatch()
		check(t, s.kern.Dispatch(p.k, p.k.Groups(n), Push(p.a, uint32(n)), s.dx, s.dy))
		s.down = d.NewTransferBatch()
		check(t, s.down.Copy(s.hy, 0, s.dy, 0, 4*n))
		p.slots = append(p.slots, s)
	}
	return p
}

func (p *saxpyPipe) slot(i int) *saxpySlot { return p.slots[i%len(p.slots)] }

// await takes a future's result (nil: none), counting the lane it ran on.
func (p *saxpyPipe) await(f *io.Future[*Completion]) {
	if f == nil {
		return
	}
	c, err := f.Await(p.x)
	check(p.t, err)
	p.seen[c.Queue]++
}

// upload writes chunk i into its slot's staging buffers and submits the
// upload; the slot's previous readback has been awaited (readback), so the
// staging memory is free, and the upload waits for nothing else on the GPU.
func (p *saxpyPipe) upload(i int, xs, ys []float32) {
	s := p.slot(i)
	copy(s.hxView, xs)
	copy(s.hyView, ys)
	p.await(s.fUp) // the slot's upload batch is free
	s.fUp = p.d.Submit(p.x, s.up)
}

// kernel submits chunk i's kernel after its upload.
func (p *saxpyPipe) kernel(i int) {
	s := p.slot(i)
	p.await(s.fKern)
	check(p.t, s.kern.After(s.up))
	s.fKern = p.d.Submit(p.x, s.kern)
}

// readback submits chunk i's readback after its kernel, awaits it and
// returns the slot's results (valid until the slot is reused).
func (p *saxpyPipe) readback(i int) []float32 {
	s := p.slot(i)
	check(p.t, s.down.After(s.kern))
	s.fDown = p.d.Submit(p.x, s.down)
	p.await(s.fDown)
	s.fDown = nil
	p.await(s.fUp)
	s.fUp = nil
	p.await(s.fKern)
	s.fKern = nil
	return s.hyView
}

func (p *saxpyPipe) close() {
	for _, s := range p.slots {
		p.await(s.fUp)
		p.await(s.fKern)
		p.await(s.fDown)
		for _, b := range []*Batch{s.up, s.kern, s.down} {
			check(p.t, b.Close())
		}
		for _, b := range []*Buffer{s.hx, s.hy, s.dx, s.dy} {
			check(p.t, b.Close())
		}
	}
	check(p.t, p.k.Close())
}

// TestCompleterWakesForOtherLane: while the completion goroutine waits for
// a long batch on the compute lane, work that completes on the transfer
// lane is completed at once, not after the long batch: a submission to a
// lane its wait does not cover wakes it (the wake semaphore), and its next
// wait covers both timelines. On lavapipe both lanes share the one queue,
// so the transfer lane's work is completed from the host here (the lane's
// timeline signalled, as another queue would).
func TestCompleterWakesForOtherLane(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d := twoLane(t, Options{})
	b, done := heavy(t, d)
	defer done()
	f := d.Submit(x, b)
	heavyValue := d.lanes[0].vl.Last()
	// Until the completion goroutine waits for the heavy batch alone.
	for !d.completerWaits(d.lanes[0].bit) {
		time.Sleep(100 * time.Microsecond)
	}
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
		if d.addPending(p, true) {
			check(t, d.vd.Wake())
		}
	}()
	c, err := pr.Future().Await(x)
	check(t, err)
	if c.Queue != "transfer" || c.Value != p.value {
		t.Fatalf("completion %+v, want the transfer lane's value %d", c, p.value)
	}
	if v := must(d.lanes[0].vl.Completed()); v >= heavyValue {
		t.Fatalf("the transfer lane's work was completed only after the compute lane's (timeline %d >= %d)", v, heavyValue)
	}
	must(f.Await(x))
}

// completerWaits reports whether the completion goroutine is in a wait
// covering exactly the lanes of mask.
func (d *Device) completerWaits(mask uint8) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.compWaiting && d.compMask == mask
}

// TestTwoLanesCancelAndClose: waits on both lanes are canceled at once
// while the work stays tracked (the batches stay busy), and Close with work
// pending on both lanes waits for it and releases everything.
func TestTwoLanesCancelAndClose(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d, err := Open(Options{Validation: true, SyncValidation: true, TransferQueue: true, sharedTransfer: true})
	check(t, err)
	b, _ := heavyBatch(t, d, heavyPasses(t))
	buf := must(d.NewBuffer(1<<20, DeviceLocal))
	host := must(d.NewBuffer(1<<20, HostVisible))
	tb := d.NewTransferBatch()
	check(t, tb.Copy(host, 0, buf, 0, 1<<20))
	fb := d.Submit(x, b)
	check(t, tb.After(b))
	ft := d.Submit(x, tb)
	start := time.Now()
	for _, f := range []*io.Future[*Completion]{ft, fb} {
		if _, err := f.Cancel(x); !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("canceled wait: %v", err)
		}
	}
	t.Logf("both waits canceled after %v", time.Since(start))
	if err := tb.Close(); !errors.Is(err, ErrBusy) {
		t.Fatalf("closing a transfer batch still queued: %v", err)
	}
	if err := buf.Close(); !errors.Is(err, ErrBusy) {
		t.Fatalf("closing a buffer the transfer lane still uses: %v", err)
	}
	check(t, d.Close())
	for _, m := range d.Messages() {
		t.Errorf("validation message: %s", m)
	}
	if n := d.Live(); n != 0 {
		t.Fatalf("%d objects live after Close", n)
	}
}

// TestTwoLanesDeviceLost: a device lost at a transfer lane's submission
// fails that submission and the waits for work pending on the compute
// lane, and every later submission on either lane; Close still works.
func TestTwoLanesDeviceLost(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		// Opened here, not with open: what the lost device still tracks
		// is released by its Close alone.
		d, err := Open(Options{Validation: true, SyncValidation: true, TransferQueue: true, sharedTransfer: true})
		check(t, err)
		b, _ := heavy(t, d)
		buf := must(d.NewBuffer(4096, DeviceLocal))
		tb := d.NewTransferBatch()
		check(t, tb.Fill(buf, 0, 4096, 3))
		must(d.Run(x, tb)) // the transfer lane works
		inline, _ := x.External("gpu.submit")
		var fb *io.Future[*Completion]
		if !inline {
			fb = d.Submit(x, b) // pending on the compute lane
		}
		check(t, d.InjectFault(FaultDeviceLost, 0))
		if _, err := d.Run(x, tb); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("transfer submission with the fault: %v", err)
		}
		if fb != nil {
			if _, err := fb.Await(x); !errors.Is(err, ErrDeviceLost) {
				t.Fatalf("wait for the compute lane's work: %v", err)
			}
		}
		if err := d.Lost(); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("Lost() = %v", err)
		}
		for _, bt := range []*Batch{b, tb} {
			if _, err := d.Run(x, bt); !errors.Is(err, ErrDeviceLost) {
				t.Fatalf("submission after the loss: %v", err)
			}
		}
		check(t, d.Close())
		for _, m := range d.Messages() {
			t.Errorf("validation message: %s", m)
		}
		if n := d.Live(); n != 0 {
			t.Fatalf("%d objects live after Close", n)
		}
	})
}

// TestStagedOnTransferLane: with a transfer lane, staged uploads and
// downloads (unmapped device-local buffers) run on it, and keep the order a
// single queue gives: an upload into a buffer that a kernel still reads, and
// a download of one it still writes, wait for the kernel on the GPU.
func TestStagedOnTransferLane(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d := twoLane(t, Options{ForceStaging: true})
	// As many passes as keep a device busy for 100 ms (heavy), so that the
	// copies are made while the kernel runs, on a GPU too.
	const n = 4 << 20
	passes := heavyPasses(t)
	bx := must(d.NewBuffer(4*n, DeviceLocal))
	defer bx.Close()
	by := must(d.NewBuffer(4*n, DeviceLocal))
	defer by.Close()
	if bx.Mapped() {
		t.Fatal("a device-local buffer is mapped with ForceStaging")
	}
	before := d.xfer.vl.Last()
	ones, twos, zeros := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range ones {
		ones[i], twos[i] = 1, 2
	}
	check(t, Upload(x, bx, 0, ones))
	check(t, Upload(x, by, 0, zeros))
	if got := d.xfer.vl.Last() - before; got != 2 {
		t.Fatalf("%d submissions on the transfer lane for two staged uploads", got)
	}
	k := must(d.NewKernel(shaders.SAXPY(), nil))
	defer k.Close()
	b := d.NewBatch()
	defer b.Close()
	for range passes {
		check(t, b.Dispatch(k, k.Groups(n), Push(float32(1), uint32(n)), bx, by))
	}
	f := d.Submit(x, b)
	// While the kernel may still run: x is overwritten (after the kernel
	// read it) and y read back (after the kernel wrote it).
	check(t, Upload(x, bx, 0, twos))
	got := make([]float32, n)
	check(t, Download(x, by, 0, got))
	for i, v := range got {
		if v != float32(passes) {
			t.Fatalf("y[%d] = %g, want %d: the staged copies did not wait for the kernel", i, v, passes)
		}
	}
	c := must(f.Await(x))
	if c.Queue != "compute" {
		t.Fatalf("the kernel ran on %q", c.Queue)
	}
	check(t, Download(x, bx, 0, got))
	if got[0] != 2 || got[n-1] != 2 {
		t.Fatalf("x after the upload: %g ... %g", got[0], got[n-1])
	}
}

// TestTwoLanesWaitTimeout: with Options.WaitTimeout, submissions on both
// lanes still running at their deadline resolve with ErrTimeout (the
// completion goroutine's deadlines over both pending lists); the work
// stays tracked, and both batches run again once it is done.
func TestTwoLanesWaitTimeout(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d := twoLane(t, Options{WaitTimeout: time.Millisecond})
	b, done := heavy(t, d)
	defer done()
	buf := must(d.NewBuffer(1<<20, DeviceLocal))
	defer buf.Close()
	tb := d.NewTransferBatch()
	defer tb.Close()
	check(t, tb.Fill(buf, 0, 1<<20, 5))
	fb := d.Submit(x, b)
	check(t, tb.After(b))
	ft := d.Submit(x, tb)
	for i, f := range []*io.Future[*Completion]{fb, ft} {
		if _, err := f.Await(x); !errors.Is(err, ErrTimeout) {
			t.Fatalf("future %d: %v, want ErrTimeout", i, err)
		}
	}
	check(t, d.vd.WaitIdle())
	d.reapDone()
	if _, err := d.Run(x, tb); err != nil && !errors.Is(err, ErrTimeout) {
		t.Fatalf("the transfer batch again: %v", err)
	}
	check(t, d.vd.WaitIdle())
}

// TestTwoLanesWaitError: a wait of the completion goroutine that fails
// without the device being lost (out of host memory, injected) fails the
// waiters of the lanes' oldest submissions, which stay tracked; the device
// goes on working.
func TestTwoLanesWaitError(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d := twoLane(t, Options{})
	b, done := heavy(t, d)
	defer done()
	buf := must(d.NewBuffer(4096, DeviceLocal))
	defer buf.Close()
	tb := d.NewTransferBatch()
	defer tb.Close()
	check(t, tb.Fill(buf, 0, 4096, 5))
	d.vd.InjectFault(vkx.FaultWait, vkx.ErrorOutOfHostMemory, 1)
	fb := d.Submit(x, b)
	ft := d.Submit(x, tb)
	failed := 0
	for i, f := range []*io.Future[*Completion]{fb, ft} {
		_, err := f.Await(x)
		switch {
		case errors.Is(err, ErrOutOfMemory):
			failed++
		case err != nil:
			t.Fatalf("future %d: %v", i, err)
		}
	}
	if failed == 0 {
		t.Fatal("no waiter saw the failed wait")
	}
	check(t, d.vd.WaitIdle())
	for _, bt := range []*Batch{tb, b} {
		for {
			_, err := d.Run(x, bt)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrBusy) {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
