package main

import (
	"errors"
	"github.com/spf13/cobra"

	"github.com/vkio/vkio/io"
)

// Temporary: replaced once the envs and es slices are merged.

type renderSim interface {
	states() []float32
	step()
	describe() string
	episodesEnded() int
}

type rlPolicy struct{ env string }

func loadRLPolicy(x io.Io, p string) (*rlPolicy, error) { return nil, errors.New("not yet") }

func newRenderSim(c rlRenderConfig, pol *rlPolicy) (renderSim, error) {
	return &stillSim{s: make([]float32, 4*c.envs)}, nil
}

type stillSim struct{ s []float32 }

func (s *stillSim) states() []float32  { return s.s }
func (s *stillSim) step()              {}
func (s *stillSim) describe() string   { return "still" }
func (s *stillSim) episodesEnded() int { return 0 }

func newRLTrainCmd(a *app) *cobra.Command { return &cobra.Command{Use: "train"} }
func newRLEvalCmd(a *app) *cobra.Command  { return &cobra.Command{Use: "eval"} }
func newRLBenchCmd(a *app) *cobra.Command { return &cobra.Command{Use: "bench"} }
