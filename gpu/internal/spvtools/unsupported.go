//go:build !(linux && cgo)

// The SPIR-V validator binding is built on Linux with cgo only, like the
// rest of package gpu (see gpu/internal/vkx/unsupported.go).

package spvtools

var _ = vkio_gpu_needs_linux_and_cgo
