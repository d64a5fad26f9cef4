package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/shaders"
)

// kernelCache keeps built kernels by module and specialization, so that
// jobs of the same kind share a pipeline. It holds at most max kernels;
// beyond that, jobs build their own and close them when done.
type kernelCache struct {
	mu  sync.Mutex
	d   *gpu.Device
	m   map[string]*gpu.Kernel
	max int
}

func newKernelCache(d *gpu.Device, max int) *kernelCache {
	return &kernelCache{d: d, m: map[string]*gpu.Kernel{}, max: max}
}

// moduleKey is the part of a kernel cache key that names a SPIR-V module:
// the hex SHA-256 of its bytes. parseJob computes it once per job (once
// per process for the built-in kernels).
func moduleKey(spirv []byte) string {
	sum := sha256.Sum256(spirv)
	return hex.EncodeToString(sum[:])
}

// get returns the kernel of spirv, whose moduleKey is modKey, with opts;
// owned reports a kernel that is not cached, which the caller must close
// once its work is done.
func (kc *kernelCache) get(spirv []byte, modKey string, opts *gpu.KernelOptions) (k *gpu.Kernel, owned bool, err error) {
	key := modKey
	if len(opts.Spec) > 0 {
		ids := make([]uint32, 0, len(opts.Spec))
		for id := range opts.Spec {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var b strings.Builder
		b.WriteString(modKey)
		for _, id := range ids {
			fmt.Fprintf(&b, ",%d=%T:%v", id, opts.Spec[id], opts.Spec[id])
		}
		key = b.String()
	}
	kc.mu.Lock()
	k = kc.m[key]
	kc.mu.Unlock()
	if k != nil {
		return k, false, nil
	}
	k, err = kc.d.NewKernel(spirv, opts)
	if err != nil {
		return nil, false, err
	}
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if old := kc.m[key]; old != nil {
		_ = k.Close() // another job built it meanwhile; nothing used ours
		return old, false, nil
	}
	if len(kc.m) >= kc.max {
		return k, true, nil
	}
	kc.m[key] = k
	return k, false, nil
}

// close closes the cached kernels (after every batch is closed).
func (kc *kernelCache) close() error {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	var errs []error
	for key, k := range kc.m {
		errs = append(errs, k.Close())
		delete(kc.m, key)
	}
	return errors.Join(errs...)
}

// builtinKernel is a built-in kernel as jobs use it: reflected, with its
// element types and kernel cache key, or the error of its reflection.
type builtinKernel struct {
	prog *program
	key  string // moduleKey of prog.spirv
	err  error  // from gpu.Reflect; prog and key are unset then
}

// builtinKernels is the table of the built-in kernels, built once: jobs and
// GET /kernels only read it.
var builtinKernels = sync.OnceValue(func() map[string]*builtinKernel {
	all := shaders.All()
	out := make(map[string]*builtinKernel, len(all))
	for name, spirv := range all {
		r, err := gpu.Reflect(spirv)
		if err != nil {
			out[name] = &builtinKernel{err: err}
			continue
		}
		out[name] = &builtinKernel{prog: &program{spirv: spirv, refl: r, types: elementTypes(r)}, key: moduleKey(spirv)}
	}
	return out
})

// builtinKernelsJSON describes the built-in kernels for GET /kernels; it is
// built once, and only read afterwards.
var builtinKernelsJSON = sync.OnceValue(func() map[string]any {
	out := map[string]any{}
	for name, bk := range builtinKernels() {
		if bk.err != nil {
			continue
		}
		r, types := bk.prog.refl, bk.prog.types
		var bs []map[string]any
		for _, b := range r.Bindings {
			t := f32
			if tt, ok := types[b.Binding]; ok {
				t = tt
			}
			bs = append(bs, map[string]any{"binding": b.Binding, "type": t.String(), "readonly": b.ReadOnly, "runtime_array": b.RuntimeArray, "min_bytes": b.MinSize})
		}
		var spec []map[string]any
		for _, sp := range r.Spec {
			spec = append(spec, map[string]any{"id": sp.ID, "type": sp.Type.String(), "default": sp.Default})
		}
		out[name] = map[string]any{"local_size": r.LocalSize, "push_bytes": r.PushSize, "bindings": bs, "spec": spec}
	}
	return out
})
