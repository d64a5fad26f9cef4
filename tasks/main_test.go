package tasks_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// TestMain fails the test binary if a goroutine outlives the tests. tasks
// links no Vulkan: its GPU tests live in tasks/gputask.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ios runs fn on Blocking and Threaded Ios (and Evented, where io.New knows it).
func ios(t *testing.T, fn func(t *testing.T, x io.Io)) {
	for _, kind := range []string{"blocking", "threaded", "evented"} {
		t.Run(kind, func(t *testing.T) {
			b, err := io.New(kind)
			if err != nil {
				t.Skipf("io.New(%q): %v", kind, err)
			}
			defer b.Close()
			fn(t, b.Io())
		})
	}
}

// fakeGPU is a Dispatcher without Vulkan: one queue that runs submissions in
// order, each taking cost, completed by a timer (like a device's completion
// thread), so that a canceled Wait returns at once while the "GPU" goes on.
type fakeGPU struct {
	cost  time.Duration
	size  int
	fail  map[int]error // frame -> Submit error
	panic map[int]bool  // frame -> Wait panics
	// readCost is the time a read-back takes (a sleep: a slow transfer).
	readCost time.Duration
	// notifyDelay is how long after its work ends a submission is seen
	// complete (a late completion notice).
	notifyDelay time.Duration
	// copyCost, if set, gives each frame a read-back copy on a lane of
	// its own ("transfer"): it starts when the frame's compute ends, after
	// the previous copy, and the submission completes when it ends.
	copyCost time.Duration
	// devices, if over 1, spreads the frames over that many fake devices
	// (frame k on device k % devices), each a compute queue and a
	// transfer queue of its own, on lanes "device N" and "device N
	// transfer".
	devices int

	mu                  sync.Mutex
	queueEnds, copyEnds map[int]time.Time // by device: when its queues are free
	inflight, peak      int
	submits, closes     int
	slotsBusy           map[int]bool
	slotReusedWhileBusy bool
}

func newFakeGPU(cost time.Duration, size int) *fakeGPU {
	return &fakeGPU{cost: cost, size: size, slotsBusy: map[int]bool{}}
}

type fakeSub struct {
	g       *fakeGPU
	frame   int
	slot    int
	p       *io.Promise[tasks.GPUTime]
	gpuDone chan struct{}
	closed  bool
}

func (g *fakeGPU) Submit(x io.Io, frame, slot int) (tasks.Submission, error) {
	if err := g.fail[frame]; err != nil {
		return nil, err
	}
	if err := x.CheckCancel(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.slotsBusy[slot] {
		g.slotReusedWhileBusy = true
	}
	g.slotsBusy[slot] = true
	g.submits++
	g.inflight++
	g.peak = max(g.peak, g.inflight)
	now := time.Now()
	dev, lane, xlane := 0, "queue 0", "transfer"
	if g.devices > 1 {
		dev = frame % g.devices
		lane = fmt.Sprintf("device %d", dev)
		xlane = lane + " transfer"
	}
	if g.queueEnds == nil {
		g.queueEnds, g.copyEnds = map[int]time.Time{}, map[int]time.Time{}
	}
	start := now
	if g.queueEnds[dev].After(start) {
		start = g.queueEnds[dev]
	}
	end := start.Add(g.cost)
	g.queueEnds[dev] = end
	s := &fakeSub{g: g, frame: frame, slot: slot, p: io.NewPromise[tasks.GPUTime](), gpuDone: make(chan struct{})}
	gt := tasks.GPUTime{Queue: lane, Submitted: now, Start: start, End: end}
	done := end
	if g.copyCost > 0 {
		cs := end
		if g.copyEnds[dev].After(cs) {
			cs = g.copyEnds[dev]
		}
		done = cs.Add(g.copyCost)
		g.copyEnds[dev] = done
		gt.Copy = tasks.GPUCopy{Queue: xlane, Start: cs, End: done}
	}
	s.p.OnCancel(func() { s.p.Resolve(tasks.GPUTime{}, io.ErrCanceled) })
	time.AfterFunc(done.Sub(now)+g.notifyDelay, func() {
		g.mu.Lock()
		g.inflight--
		g.mu.Unlock()
		gt.Completed = time.Now()
		s.p.Resolve(gt, nil)
		close(s.gpuDone)
	})
	return s, nil
}

func (s *fakeSub) Wait(x io.Io) (tasks.GPUTime, error) {
	if s.g.panic[s.frame] {
		panic("fake GPU exploded")
	}
	return s.p.Future().Await(x)
}

func (s *fakeSub) Read(x io.Io, dst []byte) ([]byte, error) {
	if s.g.readCost > 0 {
		if err := x.Sleep(s.g.readCost); err != nil {
			return dst, err
		}
	}
	for i := 0; i < s.g.size; i++ {
		dst = append(dst, byte(s.frame+i))
	}
	return dst, nil
}

func (s *fakeSub) Close(x io.Io) error {
	<-s.gpuDone // the "GPU" must be finished before its buffers are reused
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	if s.closed {
		panic("Submission closed twice")
	}
	s.closed = true
	s.g.closes++
	s.g.slotsBusy[s.slot] = false
	return nil
}

// memSink keeps saved frames in memory, taking cost per save, and counts
// concurrent saves.
type memSink struct {
	cost time.Duration
	fail map[int]error

	mu          sync.Mutex
	saved       map[int][]byte
	active      int
	peak        int
	failedSaves int
}

func newMemSink(cost time.Duration) *memSink {
	return &memSink{cost: cost, saved: map[int][]byte{}}
}

func (s *memSink) Save(x io.Io, frame int, data []byte) error {
	s.mu.Lock()
	s.active++
	s.peak = max(s.peak, s.active)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	if err := x.Sleep(s.cost); err != nil {
		return err
	}
	if err := s.fail[frame]; err != nil {
		return err
	}
	s.mu.Lock()
	s.saved[frame] = append([]byte(nil), data...)
	s.mu.Unlock()
	return nil
}

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.saved)
}
