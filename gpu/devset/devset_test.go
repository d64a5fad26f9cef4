package devset_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// openSet opens a set with the validation layer and synchronization
// validation on for every member. At cleanup every healthy member must
// have had its objects closed, the set is closed (the layer reports leaked
// Vulkan objects there), and any validation message fails the test.
func openSet(t testing.TB, opts devset.Options) *devset.Set {
	t.Helper()
	var mu sync.Mutex
	var msgs []gpu.Message
	opts.Base.Validation, opts.Base.SyncValidation = true, true
	opts.Base.OnMessage = func(m gpu.Message) { mu.Lock(); msgs = append(msgs, m); mu.Unlock() }
	s, err := devset.Open(opts)
	if err != nil {
		t.Fatalf("devset.Open: %v", err)
	}
	t.Cleanup(func() {
		for _, m := range s.Members() {
			if m.Stats().Lost == nil {
				if n := m.Device().Live(); n != 0 {
					t.Errorf("%v: %d GPU objects still open at the end of the test", m, n)
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			t.Errorf("validation message: %s", m)
		}
	})
	return s
}

// kernels makes one SAXPY kernel per member, lazily, on the member's own
// device, as work placed by a Set must.
type kernels struct {
	mu sync.Mutex
	ks map[*devset.Member]*gpu.Kernel
}

func (c *kernels) get(m *devset.Member) (*gpu.Kernel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.ks[m]; k != nil {
		return k, nil
	}
	k, err := m.Device().NewKernel(shaders.SAXPY(), nil)
	if err != nil {
		return nil, err
	}
	if c.ks == nil {
		c.ks = map[*devset.Member]*gpu.Kernel{}
	}
	c.ks[m] = k
	return k, nil
}

func (c *kernels) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.ks {
		k.Close()
	}
}

const unitLen = 1000

// want is unit i's result: y = 2x + y with x[j] = i+j, y[j] = j.
func want(i int) []float32 {
	out := make([]float32, unitLen)
	for j := range out {
		out[j] = 2*float32(i+j) + float32(j)
	}
	return out
}

// saxpy is unit i of work on member m: upload, one submission, download.
func saxpy(x io.Io, m *devset.Member, ks *kernels, i int) ([]float32, error) {
	d := m.Device()
	k, err := ks.get(m)
	if err != nil {
		return nil, err
	}
	xs, ys := make([]float32, unitLen), make([]float32, unitLen)
	for j := range xs {
		xs[j], ys[j] = float32(i+j), float32(j)
	}
	bx, err := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, xs)
	if err != nil {
		return nil, err
	}
	defer bx.Close()
	by, err := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, ys)
	if err != nil {
		return nil, err
	}
	defer by.Close()
	b := d.NewBatch()
	defer b.Close()
	if err := b.Dispatch(k, k.Groups(unitLen), gpu.Push(float32(2), uint32(unitLen)), bx, by); err != nil {
		return nil, err
	}
	if _, err := d.Run(x, b); err != nil {
		return nil, err
	}
	out := make([]float32, unitLen)
	return out, gpu.Download(x, by, 0, out)
}

func threaded(t *testing.T) io.Io {
	th := io.NewThreaded(io.ThreadedOptions{})
	t.Cleanup(func() { th.Close() })
	return th.Io()
}

func TestAcquireLeastLoaded(t *testing.T) {
	s := openSet(t, devset.Options{Devices: []string{"0", "0", "0"}})
	x := io.NewBlocking().Io()
	if s.Len() != 3 || s.Healthy() != 3 {
		t.Fatalf("Len %d Healthy %d, want 3 and 3", s.Len(), s.Healthy())
	}
	var got []*devset.Member
	for range 3 {
		m, err := s.Acquire(x)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	seen := map[int]bool{}
	for _, m := range got {
		seen[m.Index()] = true
	}
	if len(seen) != 3 {
		t.Fatalf("three acquisitions landed on members %v, want all three", seen)
	}
	// Member 1 finishes: the next acquisition must go to it, the only one
	// with nothing in flight.
	got[1].Release(nil)
	m, err := s.Acquire(x)
	if err != nil {
		t.Fatal(err)
	}
	if m != got[1] {
		t.Fatalf("acquired %v, want the least-loaded %v", m, got[1])
	}
	if st := m.Stats(); st.InFlight != 1 || st.Done != 1 || st.Failed != 0 || st.Lost != nil {
		t.Fatalf("stats %+v", st)
	}
	m.Release(errors.New("some failure"))
	for _, m := range []*devset.Member{got[0], got[2]} {
		m.Release(nil)
	}
	if st := got[1].Stats(); st.InFlight != 0 || st.Done != 1 || st.Failed != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Ties go round-robin: with nothing in flight, consecutive
	// acquisitions released at once visit every member.
	seen = map[int]bool{}
	for range 3 {
		m, err := s.Acquire(x)
		if err != nil {
			t.Fatal(err)
		}
		seen[m.Index()] = true
		m.Release(nil)
	}
	if len(seen) != 3 {
		t.Fatalf("round-robin visited %v, want all three", seen)
	}
}

func TestSpread(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			devs := make([]string, n)
			for i := range devs {
				devs[i] = "0"
			}
			s := openSet(t, devset.Options{Devices: devs})
			x := threaded(t)
			var ks kernels
			defer ks.close()
			const units = 24
			results := make([][]float32, units)
			var g io.Group
			for i := range units {
				g.Async(x, func(x io.Io) error {
					r, err := devset.Do(x, s, func(x io.Io, m *devset.Member) ([]float32, error) {
						return saxpy(x, m, &ks, i)
					})
					results[i] = r
					return err
				})
			}
			if err := g.Wait(x); err != nil {
				t.Fatal(err)
			}
			for i, r := range results {
				if !equal(r, want(i)) {
					t.Fatalf("unit %d: wrong result", i)
				}
			}
			var total int64
			for _, m := range s.Members() {
				st := m.Stats()
				if st.Done == 0 {
					t.Errorf("%v ran no work: %+v", m, st)
				}
				if st.InFlight != 0 || st.Failed != 0 || st.Lost != nil {
					t.Errorf("%v: %+v", m, st)
				}
				total += st.Done
			}
			if total != units {
				t.Fatalf("members ran %d units, want %d", total, units)
			}
		})
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFailover(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			devs := make([]string, n)
			for i := range devs {
				devs[i] = "0"
			}
			var logged bytes.Buffer
			var logMu sync.Mutex
			logger := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))
			s := openSet(t, devset.Options{Devices: devs, Logger: logger})
			lost := s.Members()[0]
			// Member 0 is lost at its fourth submission, mid-run.
			if err := lost.Device().InjectFault(gpu.FaultDeviceLost, 3); err != nil {
				t.Fatal(err)
			}
			x := threaded(t)
			var ks kernels
			defer ks.close()
			const units = 30
			results := make([][]float32, units)
			var runs, successes [units]atomic.Int32
			var g io.Group
			for i := range units {
				g.Async(x, func(x io.Io) error {
					r, err := devset.Do(x, s, func(x io.Io, m *devset.Member) ([]float32, error) {
						runs[i].Add(1)
						if successes[i].Load() != 0 {
							t.Errorf("unit %d runs again after it succeeded", i)
						}
						r, err := saxpy(x, m, &ks, i)
						if err == nil {
							successes[i].Add(1)
						}
						return r, err
					})
					results[i] = r
					return err
				})
			}
			if err := g.Wait(x); err != nil {
				t.Fatal(err)
			}
			retried := 0
			for i, r := range results {
				if !equal(r, want(i)) {
					t.Fatalf("unit %d: wrong or missing result", i)
				}
				if n := successes[i].Load(); n != 1 {
					t.Fatalf("unit %d succeeded %d times", i, n)
				}
				if runs[i].Load() > 1 {
					retried++
				}
			}
			if retried == 0 {
				t.Fatal("no unit was retried: the fault never struck")
			}
			st := lost.Stats()
			if !errors.Is(st.Lost, gpu.ErrDeviceLost) || st.InFlight != 0 || st.Failed == 0 {
				t.Fatalf("member 0 after the fault: %+v", st)
			}
			if st.Done > 3 {
				t.Fatalf("member 0 finished %d units; its fourth submission should have failed", st.Done)
			}
			if s.Healthy() != n-1 {
				t.Fatalf("Healthy() = %d, want %d", s.Healthy(), n-1)
			}
			// Nothing uses member 0 now: the set has closed its device.
			if _, err := lost.Device().NewBuffer(16, gpu.HostVisible); !errors.Is(err, gpu.ErrClosed) {
				t.Fatalf("member 0's device after the take-out: %v, want ErrClosed", err)
			}
			// The next work goes elsewhere.
			m, err := s.Acquire(x)
			if err != nil {
				t.Fatal(err)
			}
			if m == lost {
				t.Fatal("a lost member was placed")
			}
			m.Release(nil)
			logMu.Lock()
			defer logMu.Unlock()
			if !bytes.Contains(logged.Bytes(), []byte("devset: member taken out")) || !bytes.Contains(logged.Bytes(), []byte("member=0")) {
				t.Fatalf("log does not record the take-out:\n%s", logged.Bytes())
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestAllLost(t *testing.T) {
	s := openSet(t, devset.Options{Devices: []string{"0", "0"}})
	for _, m := range s.Members() {
		if err := m.Device().InjectFault(gpu.FaultDeviceLost, 0); err != nil {
			t.Fatal(err)
		}
	}
	x := io.NewBlocking().Io()
	var ks kernels
	defer ks.close()
	tries := 0
	_, err := devset.Do(x, s, func(x io.Io, m *devset.Member) ([]float32, error) {
		tries++
		return saxpy(x, m, &ks, 0)
	})
	var de *devset.Error
	if !errors.As(err, &de) || !errors.Is(err, gpu.ErrNoDevice) || !errors.Is(err, gpu.ErrDeviceLost) {
		t.Fatalf("Do with every member lost: %v, want a devset.Error matching ErrNoDevice and ErrDeviceLost", err)
	}
	if tries != 2 {
		t.Fatalf("%d tries, want one per member", tries)
	}
	if _, err := s.Acquire(x); !errors.Is(err, gpu.ErrNoDevice) {
		t.Fatalf("Acquire with every member lost: %v", err)
	}
	if s.Healthy() != 0 {
		t.Fatalf("Healthy() = %d", s.Healthy())
	}
}

func TestMaxAttempts(t *testing.T) {
	s := openSet(t, devset.Options{Devices: []string{"0", "0", "0"}, MaxAttempts: 1})
	for _, m := range s.Members() {
		if err := m.Device().InjectFault(gpu.FaultDeviceLost, 0); err != nil {
			t.Fatal(err)
		}
	}
	x := io.NewBlocking().Io()
	var ks kernels
	defer ks.close()
	_, err := devset.Do(x, s, func(x io.Io, m *devset.Member) ([]float32, error) { return saxpy(x, m, &ks, 0) })
	var de *devset.Error
	if !errors.As(err, &de) || de.Op != "do" || !errors.Is(err, gpu.ErrDeviceLost) || errors.Is(err, gpu.ErrNoDevice) {
		t.Fatalf("Do with MaxAttempts 1: %v", err)
	}
	if s.Healthy() != 2 {
		t.Fatalf("Healthy() = %d, want 2", s.Healthy())
	}
}

func TestNoRetry(t *testing.T) {
	s := openSet(t, devset.Options{Devices: []string{"0", "0"}})
	x := io.NewBlocking().Io()
	for _, fail := range []error{io.ErrCanceled, gpu.ErrBinding, errors.New("app error")} {
		calls := 0
		_, err := devset.Do(x, s, func(x io.Io, m *devset.Member) (int, error) {
			calls++
			return 0, fmt.Errorf("unit: %w", fail)
		})
		if !errors.Is(err, fail) || calls != 1 {
			t.Fatalf("fn failing with %v: Do returned %v after %d calls, want it as it is after 1", fail, err, calls)
		}
	}
	// A loss fn hides (it must not run again) takes the member out but
	// is not retried.
	calls := 0
	_, err := devset.Do(x, s, func(x io.Io, m *devset.Member) (int, error) {
		calls++
		if err := m.Device().InjectFault(gpu.FaultDeviceLost, 0); err != nil {
			return 0, err
		}
		_, err := saxpy(x, m, &kernels{}, 0)
		return 0, fmt.Errorf("output already sent: %v", err)
	})
	if err == nil || errors.Is(err, gpu.ErrDeviceLost) || calls != 1 || s.Healthy() != 1 {
		t.Fatalf("hidden loss: %v after %d calls, %d healthy; want the error once and the member out", err, calls, s.Healthy())
	}
	// A canceled task runs nothing.
	th := threaded(t)
	canceled := io.Async(th, func(x io.Io) (int, error) {
		for !x.Canceled() {
			x.Sleep(time.Millisecond)
		}
		calls := 0
		_, err := devset.Do(x, s, func(io.Io, *devset.Member) (int, error) {
			calls++
			return 0, nil
		})
		return calls, err
	})
	calls, err = canceled.Cancel(th)
	if !errors.Is(err, io.ErrCanceled) || calls != 0 {
		t.Fatalf("Do on a canceled Io: %v after %d calls", err, calls)
	}
	if s.Healthy() != 1 {
		t.Fatalf("Healthy() = %d after errors that are not device losses", s.Healthy())
	}
	for _, m := range s.Members() {
		if st := m.Stats(); st.InFlight != 0 {
			t.Fatalf("%v: %+v", m, st)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := devset.Open(devset.Options{Devices: []string{"0", "99"}}); !errors.Is(err, gpu.ErrNoDevice) {
		t.Fatalf("Open with a missing device: %v, want ErrNoDevice", err)
	}
	if _, err := devset.Open(devset.Options{Devices: make([]string, devset.MaxMembers+1)}); !errors.Is(err, gpu.ErrInvalid) {
		t.Fatalf("Open with too many devices: %v", err)
	}
	if _, err := devset.Open(devset.Options{MaxAttempts: -1}); !errors.Is(err, gpu.ErrInvalid) {
		t.Fatalf("Open with MaxAttempts -1: %v", err)
	}
}

func TestOpenAll(t *testing.T) {
	s := openSet(t, devset.Options{})
	infos, err := gpu.Devices()
	if err != nil {
		t.Fatal(err)
	}
	usable := 0
	for _, in := range infos {
		if in.Usable {
			usable++
		}
	}
	if s.Len() == 0 || s.Len() > usable {
		t.Fatalf("%d members for %d usable devices", s.Len(), usable)
	}
	for _, m := range s.Members() {
		if !m.Info().Usable || m.Device().Info().Index != m.Info().Index {
			t.Fatalf("%v", m)
		}
	}
}

func TestClose(t *testing.T) {
	s, err := devset.Open(devset.Options{Devices: []string{"0", "0"}, Base: gpu.Options{Validation: true}})
	if err != nil {
		t.Fatal(err)
	}
	x := io.NewBlocking().Io()
	m, err := s.Acquire(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Device().NewBuffer(16, gpu.HostVisible); !errors.Is(err, gpu.ErrClosed) {
		t.Fatalf("a member's device after Close: %v", err)
	}
	m.Release(nil)
	if _, err := s.Acquire(x); !errors.Is(err, gpu.ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestPerQueue: PerQueue opens one member per compute queue of each entry
// (lavapipe has one: one member per entry; a GPU with several queues gives
// several members per device, on different queues).
func TestPerQueue(t *testing.T) {
	s := openSet(t, devset.Options{Devices: []string{"0", "0"}, PerQueue: true})
	queues := s.Members()[0].Info().ComputeQueues
	if queues < 1 || s.Len() != 2*min(queues, devset.MaxMembers/2) {
		t.Fatalf("%d members for 2 entries of a device with %d compute queues", s.Len(), queues)
	}
	for i, m := range s.Members() {
		if m.Index() != i || m.Queue() != i%queues {
			t.Errorf("member %d: index %d, queue %d; want queue %d", i, m.Index(), m.Queue(), i%queues)
		}
	}
	// Work spreads over every queue.
	x := threaded(t)
	var ks kernels
	defer ks.close()
	var g io.Group
	for i := range 4 * s.Len() {
		g.Async(x, func(x io.Io) error {
			r, err := devset.Do(x, s, func(x io.Io, m *devset.Member) ([]float32, error) { return saxpy(x, m, &ks, i) })
			if err == nil && !equal(r, want(i)) {
				err = fmt.Errorf("unit %d: wrong result", i)
			}
			return err
		})
	}
	if err := g.Wait(x); err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Members() {
		if m.Stats().Done == 0 {
			t.Errorf("%v ran nothing", m)
		}
	}
}
