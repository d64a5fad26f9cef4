package main

import (
	"errors"
	"github.com/spf13/cobra"
	"github.com/vkio/vkio/rl"
)

// Temporary: replaced once the envs and es slices are merged.

func newRLBenchCmd(a *app) *cobra.Command { return &cobra.Command{Use: "bench"} }

func newCPUEvaluator(env rl.Env, policy rl.MLP, threads int) (rl.Evaluator, error) {
	return nil, errors.New("the CPU evaluator is not merged yet")
}
