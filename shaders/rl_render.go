package shaders

import (
	_ "embed"
	"slices"
)

//go:embed rl_render.spv
var rlRenderSPV []byte

// RLRender returns the kernel that draws a grid of reinforcement-learning
// environments' states into one RGBA8 frame (package rl's Renderer drives
// it), one pixel packed little-endian in a uint32 (A=255 in the high byte)
// per invocation, in the look of Gymnasium's renderers.
// Bindings: 0 states (float[], read-only), 1 rgba (uint[], width*height).
// Push constants: {uint kind (0 CartPole, 1 Acrobot, 2 Pendulum,
// 3 MountainCarContinuous), cols, cellW, cellH, width, height, n, stride,
// offset} (36 bytes): environment e = row*cols + col is drawn in cell
// (row, col) of cellW x cellH pixels from states[offset+e*stride ...].
// Local size 16x16.
//
// Each call returns a fresh copy of the SPIR-V.
func RLRender() []byte { return slices.Clone(rlRenderSPV) }
