package runner_test

import (
	"fmt"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
	"github.com/vkio/vkio/job/runner"
	"github.com/vkio/vkio/shaders"
)

// printer is a Sink that prints each iteration's first values.
type printer struct{}

func (printer) Start(r *runner.Result) error {
	fmt.Printf("%v workgroups (%s)\n", r.Groups, r.How)
	return nil
}

func (printer) Frame(iter int, b *job.Binding, data []byte) error {
	fmt.Printf("iteration %d, binding %d: %s %s %s ...\n", iter, b.Info.Binding,
		job.FormatElem(b.Type, data, 0), job.FormatElem(b.Type, data, 1), job.FormatElem(b.Type, data, 2))
	return nil
}

func (printer) Finish(*runner.Result) error { return nil }

// Run SAXPY (y = 2x + y) twice on a job built from JSON, the way serve
// builds it, printing each iteration's output.
func Example() {
	spec, err := job.DecodeJSON([]byte(`{"bind":{"0":"iota:1K","1":"ones"},"push":"f32:2,u32:1024","iterations":2}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	j, err := job.FromJSON(spec, job.JSONNames)
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := gpu.Open(gpu.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	refl, err := gpu.Reflect(shaders.SAXPY())
	if err != nil {
		fmt.Println(err)
		return
	}
	prog := &runner.Program{Name: "saxpy", SPIRV: shaders.SAXPY(), Refl: refl}
	res, err := runner.Run(io.NewBlocking().Io(), d, j, prog, runner.Options{Sink: printer{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Batches), "dispatches")
	// Output:
	// [4 1 1] workgroups (one invocation per element of binding 0)
	// iteration 0, binding 1: 1 3 5 ...
	// iteration 1, binding 1: 1 5 9 ...
	// 2 dispatches
}
