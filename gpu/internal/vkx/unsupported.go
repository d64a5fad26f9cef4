//go:build !(linux && cgo)

// vkio's Vulkan layer runs on Linux only, and needs cgo: it dlopens the
// Linux Vulkan loader (libvulkan.so.1) and binds vulkan-go's C headers.
// Building it elsewhere, or with CGO_ENABLED=0, stops here with an error
// that names the reason (packages gpu, window and the vkdemo CLI import it;
// io and tasks do not).

package vkx

var _ = vkio_gpu_needs_linux_and_cgo
