package rl_test

import (
	"fmt"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
)

// A vector of 4096 CartPoles stepped 1000 times on the GPU with random
// actions, 500 steps per dispatch, then a population of MLP policies
// evaluated over whole episodes in one dispatch.
func ExampleNewGPUVecEnv() {
	x := io.NewBlocking().Io()
	d, err := gpu.Open(gpu.OptionsFromEnv())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	v, err := rl.NewGPUVecEnv(x, d, "CartPole-v1", 4096, &rl.GPUVecOptions{Seed: 1, Summaries: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	if err := v.Run(x, 1000, 500); err != nil {
		fmt.Println(err)
		return
	}
	eps, _ := v.Episodes(x)
	fmt.Println(v.Steps(), len(eps) == 4096)

	m := rl.MLP{Sizes: []int{4, 32, 2}, Act: rl.Tanh}
	ev, err := rl.NewGPUEvaluator(d, "CartPole-v1", m, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ev.Close()
	params := make([]float32, 16*m.NumParams()) // 16 members, all zero
	res, err := ev.Evaluate(x, rl.EvalRequest{Seed: 1, Params: params, Members: 16, Episodes: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Returns), res.Returns[0] == res.Returns[10])
	// Output:
	// 1000 true
	// 160 true
}
