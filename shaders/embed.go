// Package shaders holds vkio's GLSL compute shaders and their SPIR-V, compiled
// with glslc (--target-env=vulkan1.1 -O) by `make shaders` and embedded here.
// `make shaders-check` (run by `make test`) fails when a committed .spv is
// stale with respect to its .comp source.
//
// Each variable is a complete SPIR-V module, ready for gpu.Device.NewKernel.
package shaders

import _ "embed"

// SAXPY computes y[i] = a*x[i] + y[i] for i < n.
// Bindings: 0 x (float[], read-only), 1 y (float[]).
// Push constants: {float a; uint n}. Local size: specialization constant 0
// (default 256) by 1 by 1.
//
//go:embed saxpy.spv
var SAXPY []byte

// Reduce sums uint32 values with wrap-around: workgroup g writes the sum of
// in[g*256*ITEMS : (g+1)*256*ITEMS] (clipped to n) to out[g].
// Bindings: 0 in (uint[], read-only), 1 out (uint[]).
// Push constants: {uint n}. Local size 256; ITEMS is specialization
// constant 0 (default 4).
//
//go:embed reduce.spv
var Reduce []byte

// Julia renders a Mandelbrot (mode 0) or Julia (mode 1) tile, one RGBA8 pixel
// packed little-endian in a uint32 (A=255 in the high byte) per invocation.
// Binding: 0 rgba (uint[], width*height). Push constants:
// {uint width, height; float x0, y0, dx, dy, cx, cy; uint maxIter, mode}
// (40 bytes). Local size 16x16.
//
//go:embed julia.spv
var Julia []byte

// Tiny is the smallest useful kernel, for latency measurements: one
// invocation increments counter[0]. Binding: 0 counter (uint[]).
// Local size 1.
//
//go:embed tiny.spv
var Tiny []byte

// All maps each shader's file stem to its SPIR-V.
var All = map[string][]byte{
	"saxpy":  SAXPY,
	"reduce": Reduce,
	"julia":  Julia,
	"tiny":   Tiny,
}
