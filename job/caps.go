package job

import "github.com/vkio/vkio/npy"

// Caps on everything whose size comes from outside (a command line, a
// file, a request). Each is checked before anything of that size is
// allocated, so the memory a parser takes is bounded by its input and these
// caps, never by a number the input states.
const (
	// MaxBindingBytes bounds one binding's buffer.
	MaxBindingBytes = 1<<31 - 1
	// MaxBindFile bounds a file source: a binding and a .npy header.
	MaxBindFile = MaxBindingBytes + npy.MaxHeader + 12
	// MaxBindings bounds the bindings a job names (bind, out, types,
	// outputs, save, uploaded data).
	MaxBindings = 64
	// MaxPushBytes bounds the push constants: above every device's
	// maxPushConstantsSize (128 to 256 bytes on most, 4 KiB at most). The
	// shader's own size is checked when the job is resolved.
	MaxPushBytes = 4096
	// MaxSpecConstants bounds the specialization constants.
	MaxSpecConstants = 256
	// MaxShapeDims bounds the dimensions of an output's .npy shape.
	MaxShapeDims = npy.MaxDims
	// MaxIterations bounds a job's iterations.
	MaxIterations = 10000
	// MaxSize bounds a SIZE: 1 TiB (elements or bytes).
	MaxSize = 1 << 40
)
