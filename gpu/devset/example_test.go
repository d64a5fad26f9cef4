package devset_test

import (
	"fmt"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// Two logical devices on the automatically chosen physical device share
// eight units of work; each unit runs on the member it was placed on,
// making its kernel and buffers there. Had a member been lost mid-run, its
// units would have run again on the other.
func Example() {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	s, err := devset.Open(devset.Options{Base: gpu.OptionsFromEnv(), Devices: []string{"", ""}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	sums := make([]float32, 8)
	var g io.Group
	for i := range sums {
		g.Async(x, func(x io.Io) error {
			sum, err := devset.Do(x, s, func(x io.Io, m *devset.Member) (float32, error) {
				d := m.Device()
				k, err := d.NewKernel(shaders.SAXPY(), nil)
				if err != nil {
					return 0, err
				}
				defer k.Close()
				bx, err := gpu.NewBufferFrom(x, d, gpu.HostVisible, []float32{1, 2, 3, 4})
				if err != nil {
					return 0, err
				}
				defer bx.Close()
				by, err := gpu.NewBufferFrom(x, d, gpu.HostVisible, []float32{0, 0, 0, 0})
				if err != nil {
					return 0, err
				}
				defer by.Close()
				b := d.NewBatch()
				defer b.Close()
				if err := b.Dispatch(k, k.Groups(4), gpu.Push(float32(i), uint32(4)), bx, by); err != nil {
					return 0, err
				}
				if _, err := d.Run(x, b); err != nil {
					return 0, err
				}
				y := make([]float32, 4)
				if err := gpu.Download(x, by, 0, y); err != nil {
					return 0, err
				}
				return y[0] + y[1] + y[2] + y[3], nil
			})
			sums[i] = sum
			return err
		})
	}
	if err := g.Wait(x); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sums)
	busy := 0
	for _, m := range s.Members() {
		if m.Stats().Done > 0 {
			busy++
		}
	}
	fmt.Println("members used:", busy)
	// Output:
	// [0 10 20 30 40 50 60 70]
	// members used: 2
}
