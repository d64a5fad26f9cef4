package gpu

import (
	"testing"

	"vkio/io"
	"vkio/shaders"
)

// TestSubmitAllocs pins the allocations of the submit → completion hot
// path. The floor is set by the API: every Submit returns a fresh
// *io.Future, and io.NewPromise allocates the promise and its channel; vkio
// adds one record per submission that also holds the *Completion. The
// Threaded path adds the cancel callback that io.Promise.OnCancel keeps (the
// method value, the callback list and the stop function). Before the
// hot-path rework these were 5 (Blocking) and 9 (Threaded).
func TestSubmitAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	cases := []struct {
		name string
		max  float64
		io   func() (io.Io, func())
	}{
		{"blocking", 3, func() (io.Io, func()) { return io.NewBlocking().Io(), func() {} }},
		{"threaded", 6, func() (io.Io, func()) {
			th := io.NewThreaded(io.ThreadedOptions{})
			return th.Io(), func() { th.Close() }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, done := tc.io()
			defer done()
			d, _ := open(t, Options{})
			k := must(d.NewKernel(shaders.Tiny, nil))
			defer k.Close()
			c := must(NewBufferFrom(x, d, HostVisible, []uint32{0, 0, 0, 0}))
			defer c.Close()
			b := d.NewBatch()
			defer b.Close()
			check(t, b.Dispatch(k, [3]uint32{1, 1, 1}, nil, c))
			for range 3 { // record the command buffer, start the completer
				_, err := d.Run(x, b)
				check(t, err)
			}
			var err error
			n := testing.AllocsPerRun(50, func() {
				if _, e := d.Run(x, b); e != nil {
					err = e
				}
			})
			check(t, err)
			t.Logf("%s: %.1f allocations per Run", tc.name, n)
			if n > tc.max {
				t.Errorf("%s: %.1f allocations per Run, want at most %.0f", tc.name, n, tc.max)
			}
		})
	}
}
