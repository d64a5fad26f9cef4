package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/vkio/vkio/gpu/internal/vkx"
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
// Nothing reaches the driver before the checks of CheckKernel pass (one
// code path): the module is reflected — its descriptor bindings (set 0
// only), push-constant size, local size and specialization constants come
// from the SPIR-V — and validated with SPIRV-Tools for d.TargetEnv(), so
// that malformed, truncated or Vulkan-invalid modules fail with ErrBadSPIRV;
// modules over MaxModuleSize, and push-constant, workgroup and shared-memory
// sizes beyond the device's limits, fail with ErrLimit.
func (d *Device) NewKernel(spirv []byte, opts *KernelOptions) (*Kernel, error) {
	const op = "new kernel"
	if err := d.checkOpen(op); err != nil {
		return nil, err
	}
	pl, err := d.plan(op, spirv, opts)
	if err != nil {
		return nil, err
	}
	var bindings []vkx.Binding
	for _, b := range pl.refl.Bindings {
		bindings = append(bindings, vkx.Binding{Binding: b.Binding, Uniform: b.Kind == UniformBuffer})
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
		Entry:    pl.refl.Entry,
		Bindings: bindings,
		PushSize: uint32(pl.refl.PushSize),
		Spec:     pl.spec,
		SpecData: pl.specData,
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	k := &Kernel{d: d, p: p, refl: pl.refl, localSize: pl.localSize}
	if err := d.track(k); err != nil {
		p.Destroy()
		return nil, err
	}
	return k, nil
}

// kernelPlan is what the checks of plan derive from a module and its
// options, ready for the driver.
type kernelPlan struct {
	refl      *Reflection
	localSize [3]uint32 // with specialization applied
	spec      []vkx.SpecEntry
	specData  []byte
}

// plan makes every check that must pass before a module reaches
// vkCreateShaderModule (see CheckKernel), in order: size caps, reflection,
// the specialization values, then SPIRV-Tools validation and the device
// limits of the module as specialized.
func (d *Device) plan(op string, spirv []byte, opts *KernelOptions) (*kernelPlan, error) {
	return planKernel(op, d.info.Limits, d.TargetEnv(), spirv, opts)
}

// planKernel is plan for a device with limits lim and target env.
func planKernel(op string, lim Limits, env TargetEnv, spirv []byte, opts *KernelOptions) (*kernelPlan, error) {
	if err := checkModuleSize(op, spirv); err != nil {
		return nil, err
	}
	refl, err := Reflect(spirv)
	if err != nil {
		return nil, err
	}
	for _, b := range refl.Bindings {
		if b.Set != 0 {
			return nil, errf(op, ErrUnsupported, "binding %d.%d: only descriptor set 0 is supported", b.Set, b.Binding)
		}
	}
	pl := &kernelPlan{refl: refl, localSize: refl.LocalSize}
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
			pl.spec = append(pl.spec, vkx.SpecEntry{ID: id, Offset: uint32(len(pl.specData)), Size: 4})
			pl.specData = binary.NativeEndian.AppendUint32(pl.specData, bits)
			for dim, sid := range refl.LocalSizeSpec {
				if sid == int(id) {
					pl.localSize[dim] = bits
				}
			}
		}
	}
	// What runs is the module with the specialization applied: validate
	// and measure that (shared arrays sized by a specialization constant,
	// for one), with the values written in as the constants' defaults.
	// The limits are checked first with the unspecialized reflection, so
	// that a bad local size is ErrLimit, not a reflection error.
	if err := checkLimits(op, lim, refl, pl.localSize); err != nil {
		return nil, err
	}
	eff, effRefl := spirv, refl
	if len(pl.spec) > 0 {
		vals := specBits(pl.spec, pl.specData)
		eff = specialize(spirv, vals)
		if effRefl, err = Reflect(eff); err != nil {
			return nil, &Error{Op: op, Detail: fmt.Sprintf("with specialization constants %v: %v", vals, err), Err: ErrBadSPIRV}
		}
		if err := checkLimits(op, lim, effRefl, pl.localSize); err != nil {
			return nil, err
		}
	}
	if err := ValidateSPIRV(eff, env); err != nil {
		return nil, err
	}
	return pl, nil
}

// specBits maps SpecId to the 32-bit value of each entry.
func specBits(spec []vkx.SpecEntry, data []byte) map[uint32]uint32 {
	m := make(map[uint32]uint32, len(spec))
	for _, e := range spec {
		m[e.ID] = binary.NativeEndian.Uint32(data[e.Offset:])
	}
	return m
}

// specialize returns a copy of a (reflected, so well-formed) module in
// which each specialization constant whose SpecId is in vals has that value
// as its default: OpSpecConstant's 32-bit literal rewritten,
// OpSpecConstantTrue/False swapped by the value's truth. One pass over the
// words; constants of other widths are left alone.
func specialize(spirv []byte, vals map[uint32]uint32) []byte {
	const (
		opDecorate        = 71
		decSpecID         = 1
		opSpecConstTrue   = 48
		opSpecConstFalse  = 49
		opSpecConstScalar = 50
	)
	out := slices.Clone(spirv)
	n := len(out) / 4
	word := func(i int) uint32 { return binary.LittleEndian.Uint32(out[4*i:]) }
	put := func(i int, v uint32) { binary.LittleEndian.PutUint32(out[4*i:], v) }
	// Decorations precede the constants they decorate.
	specID := map[uint32]uint32{} // result id -> SpecId
	value := func(id uint32) (uint32, bool) {
		sid, ok := specID[id]
		if !ok {
			return 0, false
		}
		v, ok := vals[sid]
		return v, ok
	}
	for i := 5; i < n; {
		w := word(i)
		wc, opc := int(w>>16), w&0xffff
		if wc == 0 || i+wc > n {
			break
		}
		switch {
		case opc == opDecorate && wc >= 4 && word(i+2) == decSpecID:
			specID[word(i+1)] = word(i + 3)
		case (opc == opSpecConstTrue || opc == opSpecConstFalse) && wc == 3:
			if v, ok := value(word(i + 2)); ok {
				opc = opSpecConstFalse
				if v != 0 {
					opc = opSpecConstTrue
				}
				put(i, w&0xffff0000|opc)
			}
		case opc == opSpecConstScalar && wc == 4:
			if v, ok := value(word(i + 2)); ok {
				put(i+3, v)
			}
		}
		i += wc
	}
	return out
}

// checkLimits compares a reflected module, with local size ls after
// specialization, with the device's limits.
func checkLimits(op string, lim Limits, refl *Reflection, ls [3]uint32) error {
	if refl.PushSize < 0 || uint64(refl.PushSize) > uint64(lim.MaxPushConstantsSize) {
		return errf(op, ErrLimit, "push constants of %d bytes exceed the device's maxPushConstantsSize of %d", refl.PushSize, lim.MaxPushConstantsSize)
	}
	for i := range ls {
		if ls[i] == 0 || ls[i] > lim.MaxWorkGroupSize[i] {
			return errf(op, ErrLimit, "local size %v: dimension %d is %d, outside [1, %d] (the device's maxComputeWorkGroupSize[%d])", ls, i, ls[i], lim.MaxWorkGroupSize[i], i)
		}
	}
	// Each dimension is at most 2^32-1: the product fits in 96 bits, and
	// stops being compared once it passes the limit.
	inv := uint64(ls[0]) * uint64(ls[1])
	if inv > uint64(lim.MaxWorkGroupInvocations) || inv*uint64(ls[2]) > uint64(lim.MaxWorkGroupInvocations) {
		total := fmt.Sprintf("%d", inv*uint64(ls[2]))
		if ls[2] != 0 && inv > math.MaxUint64/uint64(ls[2]) {
			total = "more than 2^64"
		}
		return errf(op, ErrLimit, "local size %v has %s invocations; the device's maxComputeWorkGroupInvocations is %d", ls, total, lim.MaxWorkGroupInvocations)
	}
	if refl.SharedMemory < 0 || uint64(refl.SharedMemory) > uint64(lim.MaxSharedMemorySize) {
		return errf(op, ErrLimit, "%d bytes of shared (Workgroup) memory exceed the device's maxComputeSharedMemorySize of %d", refl.SharedMemory, lim.MaxSharedMemorySize)
	}
	return nil
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
