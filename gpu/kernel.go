package gpu

import (
	"encoding/binary"
	"fmt"
	"sort"

	"vkio/gpu/internal/vkx"
)

// KernelOptions configure NewKernel.
type KernelOptions struct {
	// Spec sets specialization constants by SpecId. Values must match the
	// constant's type: bool; int, int32, int64, uint or uint32 for integer
	// constants (range-checked); float32 or float64 for floats.
	Spec map[uint32]any
}

// Kernel is a compute pipeline built from a SPIR-V module, with the
// interface reflected from the module itself.
type Kernel struct {
	d         *Device
	p         *vkx.Pipeline
	refl      *Reflection
	localSize [3]uint32
	use       useCount // open batches that use the kernel
}

// NewKernel builds a compute kernel from SPIR-V (as produced by glslc).
// The module is reflected first: its descriptor bindings (set 0 only),
// push-constant size, local size and specialization constants come from the
// SPIR-V, and malformed or truncated modules fail with ErrBadSPIRV before
// reaching the driver. Push-constant and workgroup sizes beyond the device's
// limits fail with ErrLimit.
func (d *Device) NewKernel(spirv []byte, opts *KernelOptions) (*Kernel, error) {
	const op = "new kernel"
	if err := d.checkOpen(op); err != nil {
		return nil, err
	}
	refl, err := Reflect(spirv)
	if err != nil {
		return nil, err
	}
	lim := d.info.Limits
	if refl.PushSize > int(lim.MaxPushConstantsSize) {
		return nil, errf(op, ErrLimit, "push constants of %d bytes exceed the device's %d", refl.PushSize, lim.MaxPushConstantsSize)
	}
	var bindings []vkx.Binding
	for _, b := range refl.Bindings {
		if b.Set != 0 {
			return nil, errf(op, ErrUnsupported, "binding %d.%d: only descriptor set 0 is supported", b.Set, b.Binding)
		}
		bindings = append(bindings, vkx.Binding{Binding: b.Binding, Uniform: b.Kind == UniformBuffer})
	}
	k := &Kernel{d: d, refl: refl, localSize: refl.LocalSize}
	var spec []vkx.SpecEntry
	var specData []byte
	if opts != nil && len(opts.Spec) > 0 {
		ids := make([]uint32, 0, len(opts.Spec))
		for id := range opts.Spec {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			var info *SpecInfo
			for i := range refl.Spec {
				if refl.Spec[i].ID == id {
					info = &refl.Spec[i]
				}
			}
			if info == nil {
				return nil, errf(op, ErrInvalid, "the module has no specialization constant %d (it has %v)", id, specIDs(refl.Spec))
			}
			bits, ok := specValue(info.Type, opts.Spec[id])
			if !ok {
				return nil, errf(op, ErrInvalid, "specialization constant %d is %s; %T(%v) does not fit", id, info.Type, opts.Spec[id], opts.Spec[id])
			}
			spec = append(spec, vkx.SpecEntry{ID: id, Offset: uint32(len(specData)), Size: 4})
			specData = binary.NativeEndian.AppendUint32(specData, bits)
			for dim, sid := range refl.LocalSizeSpec {
				if sid == int(id) {
					k.localSize[dim] = bits
				}
			}
		}
	}
	ls := k.localSize
	inv := uint64(ls[0]) * uint64(ls[1]) * uint64(ls[2])
	for i := range ls {
		if ls[i] == 0 || ls[i] > lim.MaxWorkGroupSize[i] {
			return nil, errf(op, ErrLimit, "local size %v: dimension %d outside [1, %d]", ls, i, lim.MaxWorkGroupSize[i])
		}
	}
	if inv > uint64(lim.MaxWorkGroupInvocations) {
		return nil, errf(op, ErrLimit, "local size %v has %d invocations; the device allows %d", ls, inv, lim.MaxWorkGroupInvocations)
	}
	words := make([]uint32, len(spirv)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(spirv[4*i:])
	}
	// A user of the device from here: Close waits for the pipeline.
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	p, err := d.vd.NewPipeline(vkx.PipelineConfig{
		Code:     words,
		Entry:    refl.Entry,
		Bindings: bindings,
		PushSize: uint32(refl.PushSize),
		Spec:     spec,
		SpecData: specData,
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	k.p = p
	if err := d.track(k); err != nil {
		p.Destroy()
		return nil, err
	}
	return k, nil
}

func specIDs(s []SpecInfo) []uint32 {
	var ids []uint32
	for _, x := range s {
		ids = append(ids, x.ID)
	}
	return ids
}

// Reflection returns what was reflected from the kernel's SPIR-V.
func (k *Kernel) Reflection() *Reflection { return k.refl }

// LocalSize returns the workgroup size, with specialization applied.
func (k *Kernel) LocalSize() [3]uint32 { return k.localSize }

// PushSize returns the size of the push-constant block in bytes.
func (k *Kernel) PushSize() int { return k.refl.PushSize }

// Groups returns the workgroup counts that cover n invocations per
// dimension (missing dimensions count 1): ceil(n[i] / LocalSize[i]).
func (k *Kernel) Groups(n ...int) [3]uint32 {
	g := [3]uint32{1, 1, 1}
	for i := 0; i < len(n) && i < 3; i++ {
		l := int(k.localSize[i])
		g[i] = uint32((n[i] + l - 1) / l)
	}
	return g
}

// Close destroys the kernel. Batches that use it must be closed first
// (Close fails with ErrBusy otherwise); a second Close returns nil, and so
// does a Close after (or while) Device.Close destroys it.
func (k *Kernel) Close() error {
	now, busy := k.use.shut()
	if busy {
		return errf("close kernel", ErrBusy, "an open batch still uses it")
	}
	if now && k.d.claim(k) {
		defer k.d.leave()
		k.p.Destroy()
	}
	return nil
}

// destroy is Device.Close's (see Buffer.destroy).
func (k *Kernel) destroy() {
	k.use.kill()
	k.p.Destroy()
}

// Push packs values for a push-constant block: each value is appended in
// native byte order with binary.Append (fixed-size values only: numbers,
// arrays and structs of them). Push panics on other values, as on a
// programming error. Mind GLSL std430 offsets: a vec3 or a struct member
// may need explicit padding.
func Push(values ...any) []byte {
	var out []byte
	for _, v := range values {
		var err error
		out, err = binary.Append(out, binary.NativeEndian, v)
		if err != nil {
			panic(fmt.Sprintf("gpu.Push: %T: %v", v, err))
		}
	}
	return out
}
