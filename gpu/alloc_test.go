package gpu

import (
	"testing"

	"github.com/vkio/vkio/io"
)

// TestSubmitAllocs pins the allocations of the submit → completion hot
// path. Run under a Blocking Io makes no future: its one allocation is the
// record that also holds the returned *Completion. Everywhere else the floor
// is set by the API: every Submit returns a fresh *io.Future, and
// io.NewPromise allocates the promise and its channel, beside vkio's record;
// the Threaded path adds the cancel callback (the method value; the promise
// keeps it in its task's hook slot, without a list or a stop function).
// History: 5 (Blocking) and 9 (Threaded) before the first hot-path rework,
// then 3 and 6.
func TestSubmitAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	cases := []struct {
		name string
		max  float64
		io   func() (io.Io, func())
	}{
		{"blocking", 1, func() (io.Io, func()) { return io.NewBlocking().Io(), func() {} }},
		{"threaded", 4, func() (io.Io, func()) {
			th := io.NewThreaded(io.ThreadedOptions{})
			return th.Io(), func() { th.Close() }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, done := tc.io()
			defer done()
			d, _ := open(t, Options{})
			_, _, b := tiny(t, x, d)
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
