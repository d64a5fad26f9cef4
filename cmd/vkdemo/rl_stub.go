package main

import (
	"github.com/spf13/cobra"
)

// Temporary: replaced once the envs and es slices are merged.

func newRLTrainCmd(a *app) *cobra.Command { return &cobra.Command{Use: "train"} }
func newRLEvalCmd(a *app) *cobra.Command  { return &cobra.Command{Use: "eval"} }
func newRLBenchCmd(a *app) *cobra.Command { return &cobra.Command{Use: "bench"} }
