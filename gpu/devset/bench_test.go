package devset_test

import (
	"testing"

	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/io"
)

// BenchmarkPlacement measures what placement adds to a unit of work: one
// Do (Acquire, the call, Release) with nothing in fn, over 4 members,
// from parallel goroutines.
func BenchmarkPlacement(b *testing.B) {
	s := openSet(b, devset.Options{Devices: []string{"0", "0", "0", "0"}})
	x := io.NewBlocking().Io()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := devset.Do(x, s, func(io.Io, *devset.Member) (int, error) { return 0, nil }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
