package tasks_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// threadNice is the calling thread's nice value.
func threadNice(t *testing.T) int {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Error(err)
	}
	return 20 - p // the raw system call returns 20 - nice
}

// TestPipelineEncodeNice: with EncodeNice every Encode runs on a thread
// whose nice value is raised by it, on every Io, and the raised priority
// stays with those threads: the run's other goroutines keep the process's.
// A panicking Encode still fails its frame alone, and StageCPU still
// measures the encodes.
func TestPipelineEncodeNice(t *testing.T) {
	base := threadNice(t)
	if base > 19-5 {
		t.Skipf("nice value %d: no room to raise it by 5", base)
	}
	ios(t, func(t *testing.T, x io.Io) {
		const frames, size = 12, 16
		var mu sync.Mutex
		seen := map[int]int{} // frame: its Encode's thread nice value
		enc := tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
			n := threadNice(t)
			mu.Lock()
			seen[frame] = n
			mu.Unlock()
			if frame == 5 {
				panic("encoder exploded")
			}
			spin := time.Now()
			for time.Since(spin) < 200*time.Microsecond {
			}
			return appendEncoder(x, frame, raw, dst)
		})
		g := newFakeGPU(100*time.Microsecond, size)
		sink := newMemSink(0)
		p := &tasks.Pipeline{Frames: frames, Depth: 3, Dispatcher: g, Encoder: enc, Sinks: []tasks.Sink{sink},
			Policy: tasks.CancelDependents, FrameBytes: size, EncodeNice: 5, StageCPU: true}
		rep, err := p.Run(x)
		var te *tasks.Error
		if !errors.Is(err, tasks.ErrPanic) || !errors.As(err, &te) || te.Frame != 5 {
			t.Fatalf("err %v", err)
		}
		if rep.Frames != frames-1 || rep.Failed != 1 {
			t.Fatalf("report %+v", rep)
		}
		for k := range frames {
			if n, ok := seen[k]; !ok || n != base+5 {
				t.Fatalf("frame %d encoded at nice %d (seen %v), want %d", k, n, ok, base+5)
			}
		}
		if st := rep.Stages["encode"]; st.Spans != frames || !st.Measured || st.CPU <= 0 {
			t.Fatalf("encode stage %+v", st)
		}
		// Nothing else was lowered: a goroutine that runs now, on any of
		// the runtime's threads, has the process's priority.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if n := threadNice(t); n != base {
					t.Errorf("a thread has nice %d after the run, want %d", n, base)
				}
			}()
		}
		wg.Wait()
	})
}
