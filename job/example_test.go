package job_test

import (
	"fmt"

	"github.com/vkio/vkio/job"
)

// Build a job from vkdemo run's flags, resolve it against its shader's
// description and look at what a runner would hand to the GPU. (A runner
// fills the Shader from gpu.Reflect, makes a gpu.Kernel with Resolved.Spec
// and a buffer per Resolved.Bindings, and dispatches Workgroups.)
func Example() {
	j, err := job.FromFlags(job.Flags{
		Kernel: "saxpy",
		Binds:  []string{"0=iota:1K", "1=fill:2"},
		Push:   []string{"f32:2.5,u32:1024"},
	}, job.FlagNames)
	if err != nil {
		fmt.Println(err)
		return
	}
	sh := &job.Shader{Name: "saxpy", PushSize: 8, LocalSize: [3]uint32{256, 1, 1}, LocalSizeSpec: [3]int{-1, -1, -1},
		Bindings: []job.BindingInfo{
			{Binding: 0, ReadOnly: true, RuntimeArray: true, Elem: job.F32, HasElem: true},
			{Binding: 1, RuntimeArray: true, Elem: job.F32, HasElem: true},
		}}
	r, err := j.Resolve(sh, nil, job.FlagNames)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range r.Bindings {
		fmt.Printf("binding %d: %s[%d] from %s, first %s\n", b.Info.Binding, b.Type, b.Elems(), b.Source, job.FormatElem(b.Type, b.Data, 1))
	}
	local, _ := j.LocalSize(sh, job.FlagNames)
	groups, how := j.Workgroups(local, job.Counts(r.Bindings), job.FlagNames)
	fmt.Printf("%d bytes of push constants; %v workgroups (%s)\n", len(r.Push), groups, how)

	// The same mistake, worded for each front-end.
	_, err = job.FromFlags(job.Flags{Push: []string{"f32"}}, job.FlagNames)
	fmt.Println(err)
	_, err = job.FromJSON(job.JSON{Push: "f32"}, job.JSONNames)
	fmt.Println(err)
	// Output:
	// binding 0: f32[1024] from iota:1K, first 1
	// binding 1: f32[1024] from fill:2, first 2
	// 8 bytes of push constants; [4 1 1] workgroups (one invocation per element of binding 0)
	// --push "f32": want TYPE:VALUE, e.g. f32:2.5 or u32:7
	// push "f32": want TYPE:VALUE, e.g. f32:2.5 or u32:7
}
