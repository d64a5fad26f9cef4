package gpu

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vkio/vkio/gpu/internal/spvtools"
	"github.com/vkio/vkio/gpu/internal/vkx"
)

// TargetEnv is a Vulkan environment that SPIR-V is validated for: its
// rules, and the highest SPIR-V version it accepts.
type TargetEnv int

// Target environments, as spirv-val's --target-env names them.
const (
	Vulkan10        TargetEnv = iota // vulkan1.0: SPIR-V 1.0
	Vulkan11                         // vulkan1.1: SPIR-V up to 1.3
	Vulkan11SPIRV14                  // vulkan1.1spv1.4: SPIR-V up to 1.4 (VK_KHR_spirv_1_4)
	Vulkan12                         // vulkan1.2: SPIR-V up to 1.5
	Vulkan13                         // vulkan1.3: SPIR-V up to 1.6
)

// String names the environment as spirv-val's --target-env does
// ("vulkan1.2").
func (e TargetEnv) String() string {
	if s := spvtools.Env(e); s.Valid() {
		return s.String()
	}
	return fmt.Sprintf("TargetEnv(%d)", int(e))
}

// MaxModuleSize is the largest SPIR-V module vkio validates or builds a
// kernel from, in bytes: 1 MiB (shipped kernels are 0.5-3 KiB). Larger
// modules fail with ErrLimit before any parsing. The bound keeps the
// validator's time and memory, which cannot be canceled, small: SPIRV-Tools
// is not linear in the module (one constant used by every instruction of a
// long block: 0.5 s and 30 MB for 1 MB, 6 s and 110 MB for 4 MB on this
// project's machines; see BenchmarkValidateSize).
const MaxModuleSize = 1 << 20

// checkModuleSize applies the caps every entry point applies before it
// reads a module: at most MaxModuleSize bytes, a whole number of words.
func checkModuleSize(op string, spirv []byte) error {
	switch {
	case len(spirv) > MaxModuleSize:
		return errf(op, ErrLimit, "SPIR-V module of %d bytes exceeds MaxModuleSize (%d bytes)", len(spirv), MaxModuleSize)
	case len(spirv) < 20:
		return errf(op, ErrBadSPIRV, "SPIR-V module of %d bytes is shorter than the 20-byte header", len(spirv))
	case len(spirv)%4 != 0:
		return errf(op, ErrBadSPIRV, "SPIR-V module length %d is not a multiple of 4", len(spirv))
	}
	return nil
}

// MaxTypeTree bounds the types a SPIR-V module may nest: a type's tree (the
// type, plus the trees of its members, or of its element or component type)
// may have at most this many nodes. SPIRV-Tools checks the layout of a
// block by walking that tree, member by member, with no memo: a 4.6 KiB
// module whose block nests structs 6 deep, 30 members each (30^6 nodes),
// keeps it busy for minutes, while a tree of 2^20 nodes takes about 0.3 s
// here. Shipped kernels have trees of fewer than 10 nodes.
const MaxTypeTree = 1 << 20

// checkTypeTrees rejects a module with a type whose tree exceeds
// MaxTypeTree, in one pass over its words (the module's length is checked):
// each type's node count is computed once, from the counts of the types
// declared before it. A type that refers to one not declared yet counts it
// as one node (the validator rejects such modules on its own).
func checkTypeTrees(op string, spirv []byte) error {
	n := len(spirv) / 4
	word := func(i int) uint32 { return binary.LittleEndian.Uint32(spirv[4*i:]) }
	nodes := make(map[uint32]int64) // type id -> nodes of its tree (> 1 only)
	tree := func(id uint32) int64 {
		if c, ok := nodes[id]; ok {
			return c
		}
		return 1
	}
	for i := 5; i < n; {
		w := word(i)
		wc, opc := int(w>>16), w&0xffff
		if wc == 0 || i+wc > n {
			return nil // malformed: the validator says where
		}
		var c int64
		switch {
		case (opc == opTypeVector || opc == opTypeMatrix || opc == opTypeArray || opc == opTypeRuntimeArray) && wc >= 3:
			c = 1 + tree(word(i+2))
		case opc == opTypeStruct && wc >= 2:
			c = 1
			for k := i + 2; k < i+wc; k++ {
				// Each term is at most MaxTypeTree: no overflow.
				c += tree(word(k))
			}
		}
		if c > MaxTypeTree {
			return errf(op, ErrBadSPIRV, "%s %%%d at word %d: its type tree has %d nodes, more than MaxTypeTree (%d)", opcodeName(opc), word(i+1), i, c, MaxTypeTree)
		}
		if c > 1 {
			nodes[word(i+1)] = c
		}
		i += wc
	}
	return nil
}

// ValidateSPIRV validates a SPIR-V module with the SPIRV-Tools validator
// (as `spirv-val --target-env env` does, nothing relaxed). An invalid module
// gives an *Error with Op "validate" wrapping ErrBadSPIRV, whose detail is
// the validator's message (at most about 1 KiB) with the instruction number
// and word offset it names. Modules over MaxModuleSize fail with ErrLimit,
// and lengths that are not a multiple of 4 and types nested beyond
// MaxTypeTree with ErrBadSPIRV, before the validator runs. Safe for concurrent use.
func ValidateSPIRV(spirv []byte, env TargetEnv) error {
	const op = "validate"
	if !spvtools.Env(env).Valid() {
		return errf(op, ErrInvalid, "unknown target environment %v", env)
	}
	if err := checkModuleSize(op, spirv); err != nil {
		return err
	}
	if err := checkTypeTrees(op, spirv); err != nil {
		return err
	}
	err := spvtools.Validate(spirv, spvtools.Env(env))
	if err == nil {
		return nil
	}
	var ve *spvtools.Error
	if errors.As(err, &ve) {
		return errf(op, ErrBadSPIRV, "invalid for %v: %v", env, ve)
	}
	return errf(op, ErrBadSPIRV, "invalid for %v: %v", env, err)
}

// TargetEnv returns the environment the device's kernels are validated
// for: the lower of the device's Vulkan version and the version vkio
// creates its instance with (1.2), as Vulkan defines the version an
// application may use. lavapipe, a Vulkan 1.3 device, gives Vulkan12.
// vkio enables no VK_KHR_spirv_1_4, so a 1.1 device gives Vulkan11.
func (d *Device) TargetEnv() TargetEnv {
	return targetEnv(d.vd.Phys.APIVersion)
}

func targetEnv(deviceVersion uint32) TargetEnv {
	v := min(deviceVersion, vkx.InstanceAPIVersion) &^ 0xfff // drop the patch
	switch {
	case v >= 1<<22|3<<12:
		return Vulkan13
	case v >= 1<<22|2<<12:
		return Vulkan12
	case v >= 1<<22|1<<12:
		return Vulkan11
	}
	return Vulkan10
}

// CheckKernel runs every check NewKernel makes before it hands a module to
// the driver, without creating anything: the size caps, Reflect, SPIR-V
// validation for d.TargetEnv() (ErrBadSPIRV), the specialization constants
// of opts (ErrInvalid), and the device's limits (ErrLimit, naming the limit
// and both numbers): the local size after specialization against
// MaxWorkGroupSize per dimension and MaxWorkGroupInvocations, the
// push-constant block against MaxPushConstantsSize, and shared memory
// against MaxSharedMemorySize. It returns the module's reflection.
// Safe for concurrent use.
func (d *Device) CheckKernel(spirv []byte, opts *KernelOptions) (*Reflection, error) {
	const op = "check kernel"
	if err := d.checkOpen(op); err != nil {
		return nil, err
	}
	p, err := d.plan(op, spirv, opts)
	if err != nil {
		return nil, err
	}
	return p.refl, nil
}
