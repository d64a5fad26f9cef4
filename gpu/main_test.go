package gpu

import (
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

func TestMain(m *testing.M) {
	// The Vulkan loader prints noise without a runtime directory.
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		dir, err := os.MkdirTemp("", "vkio-runtime-")
		if err == nil {
			os.Setenv("XDG_RUNTIME_DIR", dir)
			defer os.RemoveAll(dir)
		}
	}
	// The examples open their devices with OptionsFromEnv: with
	// VKIO_VALIDATION=1 they have the validation layer on too (the tests
	// turn it on in Options themselves).
	os.Setenv("VKIO_VALIDATION", "1")
	goleak.VerifyTestMain(m)
}

// gate collects validation messages; any message fails the test.
type gate struct {
	mu   sync.Mutex
	msgs []Message
}

func (g *gate) add(m Message) { g.mu.Lock(); g.msgs = append(g.msgs, m); g.mu.Unlock() }

func (g *gate) take() []Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.msgs
	g.msgs = nil
	return m
}

// open opens a device with the Khronos validation layer (and synchronization
// validation) on, whatever the environment says. At cleanup the test must
// have closed every object it made; the device is closed (the layer reports
// leaked Vulkan objects there) and any validation message fails the test.
func open(t testing.TB, opts Options) (*Device, *gate) {
	t.Helper()
	g := &gate{}
	opts.Validation = true
	opts.SyncValidation = true
	opts.OnMessage = g.add
	d, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if n := d.Live(); n != 0 {
			t.Errorf("%d objects still open at the end of the test", n)
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, m := range g.take() {
			t.Errorf("validation message: %s", m)
		}
	})
	return d, g
}

// ios runs fn once per Io implementation the GPU path distinguishes.
func ios(t *testing.T, fn func(t *testing.T, x io.Io)) {
	t.Run("blocking", func(t *testing.T) {
		fn(t, io.NewBlocking().Io())
	})
	t.Run("threaded", func(t *testing.T) {
		th := io.NewThreaded(io.ThreadedOptions{})
		defer th.Close()
		fn(t, th.Io())
	})
}

// must returns v, panicking (which fails the test) on an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tiny makes the smallest real workload: the tiny kernel dispatched once
// over a 16-byte host-visible counter, in a batch of its own. The three are
// closed when tb ends (a Close the test already made returns nil).
func tiny(tb testing.TB, x io.Io, d *Device) (*Kernel, *Buffer, *Batch) {
	tb.Helper()
	k := must(d.NewKernel(shaders.Tiny(), nil))
	tb.Cleanup(func() { k.Close() })
	c := must(NewBufferFrom(x, d, HostVisible, []uint32{0, 0, 0, 0}))
	tb.Cleanup(func() { c.Close() })
	b := d.NewBatch()
	tb.Cleanup(func() { b.Close() })
	check(tb, b.Dispatch(k, [3]uint32{1, 1, 1}, nil, c))
	return k, c, b
}
