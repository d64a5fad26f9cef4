package gpu

import (
	"slices"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// BenchmarkW3 is SAXPY (y = a*x + y) over 16M float32 (1M with -short) in
// device-local buffers with ForceStaging, on a device with its transfer
// queue open where it has one (Options.TransferQueue). Its parts:
//
//   - kernel: the kernel-only rate: the chunks' kernels, data resident on
//     the device, only the dispatches timed;
//   - copy: the copies alone (upload x and y, read y back), pipelined over
//     the transfer lane, no kernels;
//   - e2e: end to end, pipelined over chunks: chunk i uploads (a transfer
//     batch) while the kernel runs chunk i-1 and chunk i-2 reads back, the
//     dependencies given with Batch.After and no wait on the host between.
//
// Each reports Melem/s; e2e/kernel is W3's figure (the target is
// 0.9 on a GPU), and e2e also reports overlap-%: how much of the kernels'
// GPU time (from their timestamps) ran while a copy ran too. The host data
// lives in host-visible (pinned) buffers, filled once: what is timed is
// the GPU's work and its submission, not Go copying into staging memory.
//
// On a GPU machine: go test -run '^$' -bench W3 -benchtime 20x ./gpu/
func BenchmarkW3(b *testing.B) {
	n, chunk := 16<<20, 1<<20
	if testing.Short() {
		n, chunk = 1<<20, 1<<18
	}
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d, err := Open(Options{ForceStaging: true, TransferQueue: true})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	w := newW3(b, x, d, n, chunk)
	defer w.close()
	b.Logf("%s: transfer queue %v; %d chunks of %d floats", d.Info(), d.TransferQueue(), w.chunks, chunk)
	b.Run("kernel", func(b *testing.B) { w.run(b, false, true) })
	b.Run("copy", func(b *testing.B) { w.run(b, true, false) })
	b.Run("e2e", func(b *testing.B) {
		w.run(b, true, true)
		w.verify(b)
	})
}

// w3 holds BenchmarkW3's buffers and batches: the whole arrays in pinned
// host memory (hx, hy in; hout out), a ring of slots of device-local chunk
// buffers, and per chunk an upload, a kernel and a readback batch, each
// stamped at its start and end.
type w3 struct {
	x            io.Io
	d            *Device
	n, chunk     int
	chunks       int
	a            float32
	k            *Kernel
	hx, hy, hout *Buffer
	dx, dy       []*Buffer // per slot
	up, kern     []*Batch  // per chunk
	down         []*Batch
	futs         map[*Batch]*io.Future[*Completion]
	spans        map[string][]span // by lane: GPU busy times
}

// span is a batch's time on the GPU, between its timestamps.
type span struct{ start, end time.Time }

// w3Slots is the number of chunk slots; it divides the number of chunks, so
// that chunk c uses slot c%w3Slots across passes too.
const w3Slots = 4

func newW3(b *testing.B, x io.Io, d *Device, n, chunk int) *w3 {
	w := &w3{x: x, d: d, n: n, chunk: chunk, chunks: n / chunk, a: 1.5, futs: map[*Batch]*io.Future[*Completion]{}}
	w.k = must(d.NewKernel(shaders.SAXPY(), nil))
	w.hx, w.hy, w.hout = must(d.NewBuffer(4*n, HostVisible)), must(d.NewBuffer(4*n, HostVisible)), must(d.NewBuffer(4*n, HostVisible))
	xs, ys := must(View[float32](w.hx)), must(View[float32](w.hy))
	for i := range xs {
		xs[i], ys[i] = float32(i%1000), float32(i%7)
	}
	for range w3Slots {
		w.dx = append(w.dx, must(d.NewBuffer(4*chunk, DeviceLocal)))
		w.dy = append(w.dy, must(d.NewBuffer(4*chunk, DeviceLocal)))
	}
	bytes := 4 * chunk
	for c := range w.chunks {
		s := c % w3Slots
		up := d.NewTransferBatch()
		check(b, up.Timestamp("start"))
		check(b, up.Copy(w.dx[s], 0, w.hx, c*bytes, bytes))
		check(b, up.Copy(w.dy[s], 0, w.hy, c*bytes, bytes))
		check(b, up.Timestamp("end"))
		k := d.NewBatch()
		check(b, k.Timestamp("start"))
		check(b, k.Dispatch(w.k, w.k.Groups(chunk), Push(w.a, uint32(chunk)), w.dx[s], w.dy[s]))
		check(b, k.Timestamp("end"))
		down := d.NewTransferBatch()
		check(b, down.Timestamp("start"))
		check(b, down.Copy(w.hout, c*bytes, w.dy[s], 0, bytes))
		check(b, down.Timestamp("end"))
		w.up, w.kern, w.down = append(w.up, up), append(w.kern, k), append(w.down, down)
	}
	// Resident data for the kernel-only runs.
	fill := d.NewBatch()
	for s := range w3Slots {
		check(b, fill.Fill(w.dx[s], 0, bytes, 0))
		check(b, fill.Fill(w.dy[s], 0, bytes, 0))
	}
	must(d.Run(x, fill))
	check(b, fill.Close())
	return w
}

// await takes bt's last submission's result, if it has one not yet taken,
// and notes its GPU time.
func (w *w3) await(b *testing.B, bt *Batch) {
	f := w.futs[bt]
	if f == nil {
		return
	}
	delete(w.futs, bt)
	c, err := f.Await(w.x)
	if err != nil {
		b.Fatal(err)
	}
	if w.spans != nil && len(c.Stamps) == 2 {
		w.spans[c.Queue] = append(w.spans[c.Queue], span{c.Stamps[0].At, c.Stamps[1].At})
	}
}

// submit submits bt after its previous submission (awaited first: a batch
// runs one submission at a time) and after the batches of after.
func (w *w3) submit(b *testing.B, bt *Batch, after ...*Batch) {
	w.await(b, bt)
	for _, a := range after {
		check(b, bt.After(a))
	}
	w.futs[bt] = w.d.Submit(w.x, bt)
}

// run streams b.N passes over the arrays: uploads (copies), kernels, or
// both, pipelined as BenchmarkW3 says.
func (w *w3) run(b *testing.B, copies, kernels bool) {
	w.spans = map[string][]span{}
	total := b.N * w.chunks
	b.ResetTimer()
	for i := 0; i < total+2; i++ {
		if c := i; c < total && copies {
			cc := c % w.chunks
			var after []*Batch
			if c >= w3Slots {
				// The slot's previous chunk has been read back (on this
				// lane, so in order anyway) and its kernel is done.
				after = append(after, w.down[(c-w3Slots)%w.chunks])
			}
			w.submit(b, w.up[cc], after...)
		}
		if c := i - 1; c >= 0 && c < total && kernels {
			var after []*Batch
			if copies {
				after = append(after, w.up[c%w.chunks])
			}
			w.submit(b, w.kern[c%w.chunks], after...)
		}
		if c := i - 2; c >= 0 && c < total && copies {
			after := []*Batch{w.up[c%w.chunks]}
			if kernels {
				after = []*Batch{w.kern[c%w.chunks]}
			}
			w.submit(b, w.down[c%w.chunks], after...)
		}
	}
	for _, bt := range slices.Concat(w.up, w.kern, w.down) {
		w.await(b, bt)
	}
	b.StopTimer()
	b.ReportMetric(float64(w.n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
	if copies && kernels {
		b.ReportMetric(100*overlap(w.spans["compute"], w.spans["transfer"]), "overlap-%")
	}
}

// verify checks the read-back results of the last e2e pass.
func (w *w3) verify(b *testing.B) {
	xs, ys, out := must(View[float32](w.hx)), must(View[float32](w.hy)), must(View[float32](w.hout))
	for i := range out {
		if !saxpyOK(w.a, xs[i], ys[i], out[i]) {
			b.Fatalf("element %d: %g, want %g*%g+%g", i, out[i], w.a, xs[i], ys[i])
		}
	}
}

// overlap returns the fraction of the time covered by spans a that spans b
// cover too (0 if a covers none).
func overlap(a, b []span) float64 {
	ua, ub := union(a), union(b)
	var total, both time.Duration
	for _, s := range ua {
		total += s.end.Sub(s.start)
		for _, t := range ub {
			lo, hi := s.start, s.end
			if t.start.After(lo) {
				lo = t.start
			}
			if t.end.Before(hi) {
				hi = t.end
			}
			if hi.After(lo) {
				both += hi.Sub(lo)
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(both) / float64(total)
}

// union merges spans into disjoint spans in time order.
func union(ss []span) []span {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b span) int { return a.start.Compare(b.start) })
	var out []span
	for _, s := range ss {
		if n := len(out); n > 0 && !s.start.After(out[n-1].end) {
			if s.end.After(out[n-1].end) {
				out[n-1].end = s.end
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

func (w *w3) close() {
	for _, bt := range slices.Concat(w.up, w.kern, w.down) {
		bt.Close()
	}
	for _, buf := range slices.Concat(w.dx, w.dy, []*Buffer{w.hx, w.hy, w.hout}) {
		buf.Close()
	}
	w.k.Close()
}
