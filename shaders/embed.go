// Package shaders holds vkio's GLSL compute shaders and their SPIR-V, compiled
// with glslc (--target-env=vulkan1.1 -O) by `make shaders` and embedded here.
// `make shaders-check` (run by `make test`) fails when a committed .spv is
// stale with respect to its .comp source.
//
// Each function returns a complete SPIR-V module, ready for
// gpu.Device.NewKernel, as a fresh copy: callers may keep or change it
// without touching anyone else's.
package shaders

import (
	_ "embed"
	"slices"
)

//go:embed saxpy.spv
var saxpySPV []byte

// SAXPY returns the kernel that computes y[i] = a*x[i] + y[i] for i < n.
// Bindings: 0 x (float[], read-only), 1 y (float[]).
// Push constants: {float a; uint n}. Local size: specialization constant 0
// (default 256) by 1 by 1.
//
// Each call returns a fresh copy of the SPIR-V.
func SAXPY() []byte { return slices.Clone(saxpySPV) }

//go:embed reduce.spv
var reduceSPV []byte

// Reduce returns the kernel that sums uint32 values with wrap-around: workgroup g writes the sum of
// in[g*256*ITEMS : (g+1)*256*ITEMS] (clipped to n) to out[g].
// Bindings: 0 in (uint[], read-only), 1 out (uint[]).
// Push constants: {uint n}. Local size 256; ITEMS is specialization
// constant 0 (default 4).
//
// Each call returns a fresh copy of the SPIR-V.
func Reduce() []byte { return slices.Clone(reduceSPV) }

//go:embed julia.spv
var juliaSPV []byte

// Julia returns the kernel that renders a Mandelbrot (mode 0) or Julia (mode 1) tile, one RGBA8 pixel
// packed little-endian in a uint32 (A=255 in the high byte) per invocation.
// Binding: 0 rgba (uint[], width*height). Push constants:
// {uint width, height; float x0, y0, dx, dy, cx, cy; uint maxIter, mode}
// (40 bytes). Local size 16x16.
//
// Each call returns a fresh copy of the SPIR-V.
func Julia() []byte { return slices.Clone(juliaSPV) }

//go:embed tiny.spv
var tinySPV []byte

// Tiny returns the smallest useful kernel, for latency measurements: one
// invocation increments counter[0]. Binding: 0 counter (uint[]).
// Local size 1.
//
// Each call returns a fresh copy of the SPIR-V.
func Tiny() []byte { return slices.Clone(tinySPV) }

// All returns each shader's file stem ("saxpy", "reduce", "julia",
// "tiny", "rl_cartpole", "rl_render", ...) mapped to a fresh copy of its SPIR-V.
func All() map[string][]byte {
	return map[string][]byte{"saxpy": SAXPY(), "reduce": Reduce(), "julia": Julia(), "tiny": Tiny(),
		"rl_cartpole": RLCartPole(), "rl_acrobot": RLAcrobot(), "rl_pendulum": RLPendulum(),
		"rl_mountaincar": RLMountainCar(), "rl_philox_kat": RLPhiloxKAT(), "rl_render": RLRender()}
}

// Names returns the shaders' file stems, sorted, without copying any module.
func Names() []string {
	return []string{"julia", "reduce", "rl_acrobot", "rl_cartpole", "rl_mountaincar", "rl_pendulum", "rl_philox_kat", "rl_render", "saxpy", "tiny"}
}
