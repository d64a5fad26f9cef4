package gpu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invalidModules are modules that vkio's reflection accepts but that are
// invalid for Vulkan, with what the validator's message must mention.
// pos.spv is the crasher of issue 12 (julia.spv with GlobalInvocationId
// renamed Position: lavapipe dies of SIGSEGV in vkCreateComputePipelines);
// the others are tiny.spv mutated by hand (see the commit that adds them).
var invalidModules = []struct{ file, want string }{
	{"pos.spv", "BuiltIn Position"},
	{"noreturn.spv", "Function end"},         // the block lacks its OpReturn
	{"badstore.spv", "type does not match"},  // OpStore of an int through a uint pointer
	{"nostride.spv", "layout rules"},         // runtime array without ArrayStride
	{"usebeforedef.spv", "not been defined"}, // OpStore of a value before its OpIAdd
}

func TestValidateShipped(t *testing.T) {
	for name, spv := range shaders.All() {
		for _, env := range []TargetEnv{Vulkan11, Vulkan11SPIRV14, Vulkan12, Vulkan13} {
			if err := ValidateSPIRV(spv, env); err != nil {
				t.Errorf("%s for %v: %v", name, env, err)
			}
		}
		// The shipped modules are SPIR-V 1.3, too new for Vulkan 1.0.
		if err := ValidateSPIRV(spv, Vulkan10); !errors.Is(err, ErrBadSPIRV) {
			t.Errorf("%s for vulkan1.0: %v, want ErrBadSPIRV", name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	for _, m := range invalidModules {
		spv := readTestdata(t, m.file)
		if _, err := Reflect(spv); err != nil {
			t.Errorf("%s: reflection rejects it already (%v); the test wants a module only validation catches", m.file, err)
		}
		err := ValidateSPIRV(spv, Vulkan12)
		var ge *Error
		if !errors.Is(err, ErrBadSPIRV) || !errors.As(err, &ge) || ge.Op != "validate" {
			t.Fatalf("%s: %v, want *Error{Op: validate} wrapping ErrBadSPIRV", m.file, err)
		}
		if !strings.Contains(ge.Detail, m.want) || !strings.Contains(ge.Detail, "at word ") || !strings.Contains(ge.Detail, "vulkan1.2") {
			t.Errorf("%s: %q lacks %q, the word offset or the target", m.file, ge.Detail, m.want)
		}
	}
}

func TestValidateCaps(t *testing.T) {
	good := shaders.Tiny()
	cases := []struct {
		name string
		spv  []byte
		want error
	}{
		{"nil", nil, ErrBadSPIRV},
		{"header only, short", good[:16], ErrBadSPIRV},
		{"odd length", good[:len(good)-1], ErrBadSPIRV},
		{"truncated", good[:len(good)-4], ErrBadSPIRV},
		{"over MaxModuleSize", make([]byte, MaxModuleSize+4), ErrLimit},
	}
	for _, c := range cases {
		if err := ValidateSPIRV(c.spv, Vulkan12); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := ValidateSPIRV(good, TargetEnv(42)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown env: %v", err)
	}
	if s := TargetEnv(42).String(); s != "TargetEnv(42)" {
		t.Errorf("String of an unknown env: %q", s)
	}
	if s := Vulkan11SPIRV14.String(); s != "vulkan1.1spv1.4" {
		t.Errorf("Vulkan11SPIRV14.String() = %q", s)
	}
}

func TestTargetEnvOf(t *testing.T) {
	v := func(maj, mnr, patch uint32) uint32 { return maj<<22 | mnr<<12 | patch }
	cases := []struct {
		dev  uint32
		want TargetEnv
	}{
		{v(1, 0, 61), Vulkan10},
		{v(1, 1, 100), Vulkan11},
		{v(1, 2, 0), Vulkan12},
		{v(1, 3, 230), Vulkan12}, // the instance is created for 1.2
		{v(1, 4, 0), Vulkan12},
	}
	for _, c := range cases {
		if got := targetEnv(c.dev); got != c.want {
			t.Errorf("device %#x: %v, want %v", c.dev, got, c.want)
		}
	}
}

func TestDeviceTargetEnv(t *testing.T) {
	d, _ := open(t, Options{})
	env := d.TargetEnv()
	t.Logf("%s: target %v", d.Info(), env)
	if env < Vulkan12 {
		// vkio needs timeline semaphores, core in Vulkan 1.2.
		t.Fatalf("target %v for a device vkio opened", env)
	}
}

// TestNewKernelValidates is the crasher of issue 12: modules that reflect
// but are invalid for Vulkan fail with ErrBadSPIRV in NewKernel and
// CheckKernel, and never reach the driver (which dies of SIGSEGV on
// pos.spv; the validation layer, which checks every vkCreateShaderModule,
// would report them, and any message fails the test).
func TestNewKernelValidates(t *testing.T) {
	d, _ := open(t, Options{})
	for _, m := range invalidModules {
		spv := readTestdata(t, m.file)
		if _, err := d.CheckKernel(spv, nil); !errors.Is(err, ErrBadSPIRV) {
			t.Errorf("CheckKernel(%s): %v, want ErrBadSPIRV", m.file, err)
		}
		k, err := d.NewKernel(spv, nil)
		if !errors.Is(err, ErrBadSPIRV) {
			if k != nil {
				k.Close()
			}
			t.Fatalf("NewKernel(%s): %v, want ErrBadSPIRV", m.file, err)
		}
		if !strings.Contains(err.Error(), m.want) {
			t.Errorf("NewKernel(%s): %v lacks %q", m.file, err, m.want)
		}
	}
	if n := d.Live(); n != 0 {
		t.Fatalf("%d objects created from invalid modules", n)
	}
	// A good kernel right after the attacks works.
	x := io.NewBlocking().Io()
	_, c, b := tiny(t, x, d)
	_, err := d.Run(x, b)
	check(t, err)
	if got := must(View[uint32](c))[0]; got != 1 {
		t.Fatalf("counter %d after one dispatch", got)
	}
}

func TestCheckKernelShipped(t *testing.T) {
	d, _ := open(t, Options{})
	for name, spv := range shaders.All() {
		r, err := d.CheckKernel(spv, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := must(Reflect(spv))
		if r.Entry != want.Entry || r.LocalSize != want.LocalSize || r.PushSize != want.PushSize {
			t.Errorf("%s: CheckKernel reflection %+v, Reflect %+v", name, r, want)
		}
	}
	if n := d.Live(); n != 0 {
		t.Fatalf("CheckKernel created %d objects", n)
	}
}

func TestCheckKernelLimits(t *testing.T) {
	d, _ := open(t, Options{})
	lim := d.Info().Limits
	// saxpy's local size x is specialization constant 0.
	for _, tc := range []struct {
		x    uint32
		want string
	}{
		{4096, "maxComputeWorkGroup"},
		{lim.MaxWorkGroupSize[0] + 1, "maxComputeWorkGroupSize[0]"},
		{math.MaxUint32, "maxComputeWorkGroupSize[0]"},
	} {
		opts := &KernelOptions{Spec: map[uint32]any{0: tc.x}}
		_, err := d.CheckKernel(shaders.SAXPY(), opts)
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckKernel local size %d: %v, want ErrLimit naming %s", tc.x, err, tc.want)
		}
		k, err2 := d.NewKernel(shaders.SAXPY(), opts)
		if !errors.Is(err2, ErrLimit) {
			if k != nil {
				k.Close()
			}
			t.Errorf("NewKernel local size %d: %v, want ErrLimit", tc.x, err2)
		}
	}
	if _, err := d.CheckKernel(shaders.SAXPY(), &KernelOptions{Spec: map[uint32]any{0: 0}}); !errors.Is(err, ErrLimit) {
		t.Errorf("local size 0: %v", err)
	}
	if _, err := d.CheckKernel(shaders.SAXPY(), &KernelOptions{Spec: map[uint32]any{9: 1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown spec constant: %v", err)
	}
	if _, err := d.CheckKernel(shaders.SAXPY(), &KernelOptions{Spec: map[uint32]any{0: 64}}); err != nil {
		t.Errorf("local size 64: %v", err)
	}
}

// TestCheckLimits drives checkLimits with made-up reflections, so that each
// limit is covered whatever the device's numbers are.
func TestCheckLimits(t *testing.T) {
	lim := Limits{MaxWorkGroupSize: [3]uint32{1024, 1024, 64}, MaxWorkGroupInvocations: 1024,
		MaxPushConstantsSize: 128, MaxSharedMemorySize: 32 << 10}
	ok := &Reflection{PushSize: 128, SharedMemory: 32 << 10}
	cases := []struct {
		name string
		refl *Reflection
		ls   [3]uint32
		want string // "" for no error
	}{
		{"at every limit", ok, [3]uint32{1024, 1, 1}, ""},
		{"push", &Reflection{PushSize: 129}, [3]uint32{1, 1, 1}, "maxPushConstantsSize of 128"},
		{"shared 4 MiB", &Reflection{SharedMemory: 4 << 20}, [3]uint32{1, 1, 1}, "4194304 bytes of shared"},
		{"shared one byte over", &Reflection{SharedMemory: 32<<10 + 1}, [3]uint32{1, 1, 1}, "maxComputeSharedMemorySize of 32768"},
		{"z over", ok, [3]uint32{1, 1, 65}, "maxComputeWorkGroupSize[2]"},
		{"zero", ok, [3]uint32{0, 1, 1}, "dimension 0 is 0"},
		{"invocations", ok, [3]uint32{64, 64, 1}, "4096 invocations"},
		{"product overflows 32 bits", &Reflection{}, [3]uint32{1 << 16, 1 << 16, 1 << 16}, "maxComputeWorkGroupInvocations"},
	}
	big := lim
	big.MaxWorkGroupSize = [3]uint32{math.MaxUint32, math.MaxUint32, math.MaxUint32}
	big.MaxWorkGroupInvocations = math.MaxUint32
	for _, c := range cases {
		l := lim
		if c.name == "product overflows 32 bits" {
			l = big
		}
		err := checkLimits("test", l, c.refl, c.ls)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrLimit with %q", c.name, err, c.want)
		}
	}
	// 2^32-1 in each dimension: the product passes 2^64.
	err := checkLimits("test", big, &Reflection{}, [3]uint32{math.MaxUint32, math.MaxUint32, math.MaxUint32})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "more than 2^64") {
		t.Errorf("huge local size: %v", err)
	}
}

// TestSharedMemoryLimit is item 7 of issue 12: a kernel with 4 MiB of
// shared memory (lavapipe allows 32 KiB) must fail with ErrLimit before the
// driver. It relies on Reflection.SharedMemory, computed by the reflector.
func TestSharedMemoryLimit(t *testing.T) {
	d, _ := open(t, Options{})
	spv := readTestdata(t, "shared4m.spv")
	if err := ValidateSPIRV(spv, d.TargetEnv()); err != nil {
		t.Fatalf("shared4m.spv is meant to be valid SPIR-V: %v", err)
	}
	if _, err := d.CheckKernel(spv, nil); !errors.Is(err, ErrLimit) {
		t.Errorf("CheckKernel: %v, want ErrLimit (shared memory limit %d)", err, d.Info().Limits.MaxSharedMemorySize)
	}
	k, err := d.NewKernel(spv, nil)
	if !errors.Is(err, ErrLimit) {
		if k != nil {
			k.Close()
		}
		t.Errorf("NewKernel: %v, want ErrLimit", err)
	}
}

func TestDispatchGroupChecks(t *testing.T) {
	d, _ := open(t, Options{})
	x := io.NewBlocking().Io()
	k, c, _ := tiny(t, x, d)
	b := d.NewBatch()
	defer b.Close()
	lim := d.Info().Limits.MaxWorkGroupCount
	for i := range 3 {
		g := [3]uint32{1, 1, 1}
		g[i] = lim[i] + 1
		if lim[i] == math.MaxUint32 {
			continue
		}
		if err := b.Dispatch(k, g, nil, c); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "maxComputeWorkGroupCount") {
			t.Errorf("groups %v: %v, want ErrLimit", g, err)
		}
		g[i] = 0
		if err := b.Dispatch(k, g, nil, c); !errors.Is(err, ErrInvalid) {
			t.Errorf("groups %v: %v, want ErrInvalid", g, err)
		}
	}
	if b.Len() != 0 {
		t.Fatalf("rejected dispatches were added: %d commands", b.Len())
	}
	check(t, b.Dispatch(k, lim, nil, c)) // at the limit: accepted (not run)
}

// TestRobustBufferAccess shows that the device runs kernels with
// robustBufferAccess: Info reports the feature, and a kernel that writes
// and reads far past the end of its 64-byte buffers (oob.comp: dst[i] =
// src[i] + 1 over 4096 invocations) leaves buffers around them untouched,
// and completes without a device loss.
func TestRobustBufferAccess(t *testing.T) {
	d, _ := open(t, Options{})
	if !d.Info().RobustBufferAccess {
		t.Skipf("%s lacks robustBufferAccess", d.Info())
	}
	x := io.NewBlocking().Io()
	k := must(d.NewKernel(readTestdata(t, "oob.spv"), nil))
	defer k.Close()
	const n, guard = 16, 1024
	pattern := func(seed uint32, n int) []uint32 {
		p := make([]uint32, n)
		for i := range p {
			p[i] = seed ^ uint32(i)*2654435761
		}
		return p
	}
	var guards []*Buffer
	mk := func(seed uint32, n int) *Buffer {
		b := must(NewBufferFrom(x, d, HostVisible, pattern(seed, n)))
		t.Cleanup(func() { b.Close() })
		return b
	}
	guards = append(guards, mk(1, guard))
	src := mk(2, n)
	guards = append(guards, mk(3, guard))
	dst := mk(4, n)
	guards = append(guards, mk(5, guard))
	b := d.NewBatch()
	defer b.Close()
	check(t, b.Dispatch(k, [3]uint32{4096 / 64, 1, 1}, nil, src, dst))
	_, err := d.Run(x, b)
	check(t, err)
	got := must(View[uint32](dst))
	in := pattern(2, n)
	for i := range n {
		if got[i] != in[i]+1 {
			t.Fatalf("dst[%d] = %#x, want %#x", i, got[i], in[i]+1)
		}
	}
	for gi, g := range guards {
		want := pattern(uint32(2*gi+1), guard)
		have := must(View[uint32](g))
		for i := range want {
			if have[i] != want[i] {
				t.Fatalf("guard buffer %d word %d changed: %#x, want %#x", gi, i, have[i], want[i])
			}
		}
	}
}

// FuzzValidate feeds mutated shipped modules (and the crashers) to
// ValidateSPIRV: it must return nil or ErrBadSPIRV (ErrLimit above
// MaxModuleSize), never crash, panic or hang.
func FuzzValidate(f *testing.F) {
	for _, spv := range shaders.All() {
		f.Add(spv, uint8(Vulkan12))
	}
	for _, m := range invalidModules {
		f.Add(readTestdata(f, m.file), uint8(Vulkan11))
	}
	f.Add(readTestdata(f, "shared4m.spv"), uint8(Vulkan13))
	f.Fuzz(func(t *testing.T, spv []byte, env uint8) {
		e := TargetEnv(env % 5)
		err := ValidateSPIRV(spv, e)
		if err != nil && !errors.Is(err, ErrBadSPIRV) && !(len(spv) > MaxModuleSize && errors.Is(err, ErrLimit)) {
			t.Fatalf("ValidateSPIRV(%d bytes, %v): %v", len(spv), e, err)
		}
		if err == nil {
			// Whatever validates must also reflect or be refused cleanly.
			if _, rerr := Reflect(spv); rerr != nil && !errors.Is(rerr, ErrBadSPIRV) {
				t.Fatalf("Reflect after a valid module: %v", rerr)
			}
		}
	})
}

// BenchmarkValidate measures SPIRV-Tools validation per shipped shader,
// the cost NewKernel now adds before the driver.
func BenchmarkValidate(b *testing.B) {
	for _, name := range []string{"tiny", "saxpy", "reduce", "julia"} {
		spv := shaders.All()[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(spv)))
			for b.Loop() {
				if err := ValidateSPIRV(spv, Vulkan12); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateNewKernel sets the validation cost beside a whole
// NewKernel+Close of the same shader (reflection, validation and pipeline
// creation by the driver).
func BenchmarkValidateNewKernel(b *testing.B) {
	d, _ := open(b, Options{})
	for _, name := range []string{"tiny", "saxpy", "reduce", "julia"} {
		spv := shaders.All()[name]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				k, err := d.NewKernel(spv, nil)
				if err != nil {
					b.Fatal(err)
				}
				k.Close()
			}
		})
	}
}

// bigModule returns tiny.spv with n more instructions in its one block,
// each an OpIAdd of the previous result and the same constant: the shape
// that makes the validator slowest per byte that we found (every
// instruction uses one ID).
func bigModule(tb testing.TB, n int) []byte {
	tb.Helper()
	src := shaders.Tiny()
	w := make([]uint32, len(src)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(src[4*i:])
	}
	const opIAdd = 128
	out := append([]uint32(nil), w[:5]...)
	bound := w[3]
	done := false
	for i := 5; i < len(w); {
		wc := int(w[i] >> 16)
		ins := w[i : i+wc]
		if !done && ins[0]&0xffff == opIAdd && wc == 5 {
			// %r = OpIAdd %type %a %const: insert n adds in front.
			prev := ins[3]
			for k := 0; k < n; k++ {
				id := bound
				bound++
				out = append(out, 5<<16|opIAdd, ins[1], id, prev, ins[4])
				prev = id
			}
			out = append(out, ins[0], ins[1], ins[2], prev, ins[4])
			done = true
		} else {
			out = append(out, ins...)
		}
		i += wc
	}
	if !done {
		tb.Fatal("tiny.spv has no OpIAdd to grow")
	}
	out[3] = bound
	b := make([]byte, 4*len(out))
	for i, x := range out {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func TestValidateBigModule(t *testing.T) {
	n := (MaxModuleSize - len(shaders.Tiny())) / 20
	spv := bigModule(t, n)
	if len(spv) > MaxModuleSize {
		t.Fatalf("%d bytes", len(spv))
	}
	if testing.Short() {
		t.Skip("validates a 1 MiB module")
	}
	if err := ValidateSPIRV(spv, Vulkan12); err != nil {
		t.Fatalf("%d-byte module: %v", len(spv), err)
	}
	over := bigModule(t, n+1)
	if err := ValidateSPIRV(over, Vulkan12); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "MaxModuleSize") {
		t.Fatalf("%d-byte module: %v, want ErrLimit", len(over), err)
	}
}

// BenchmarkValidateSize measures validation of the slowest shape we know
// (bigModule) from 4 KiB to MaxModuleSize: compare ns/byte across sizes.
func BenchmarkValidateSize(b *testing.B) {
	for _, kib := range []int{4, 64, 256, 1024} {
		spv := bigModule(b, (kib<<10-len(shaders.Tiny()))/20)
		b.Run(fmt.Sprintf("%dKiB", kib), func(b *testing.B) {
			b.SetBytes(int64(len(spv)))
			for b.Loop() {
				if err := ValidateSPIRV(spv, Vulkan12); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSpecialize(t *testing.T) {
	spv := readTestdata(t, "sharedspec.spv")
	r := must(Reflect(spv))
	if len(r.Spec) != 2 || r.Spec[0].Default != 64 || r.Spec[1].Type != SpecBool || r.Spec[1].Default != 0 {
		t.Fatalf("sharedspec.spv reflects as %+v", r.Spec)
	}
	out := specialize(spv, map[uint32]uint32{0: 1000, 1: 1, 7: 5})
	if len(out) != len(spv) {
		t.Fatalf("specialize changed the length: %d -> %d", len(spv), len(out))
	}
	r2 := must(Reflect(out))
	if r2.Spec[0].Default != 1000 || r2.Spec[1].Default != 1 {
		t.Errorf("specialized defaults %+v", r2.Spec)
	}
	if err := ValidateSPIRV(out, Vulkan12); err != nil {
		t.Errorf("specialized module: %v", err)
	}
	if must(Reflect(spv)).Spec[0].Default != 64 {
		t.Error("specialize changed its input")
	}
	back := specialize(out, map[uint32]uint32{0: 64, 1: 0})
	if string(back) != string(spv) {
		t.Error("specializing back to the defaults does not give the module back")
	}
	// saxpy's local size comes from constant 0.
	s := must(Reflect(specialize(shaders.SAXPY(), map[uint32]uint32{0: 64})))
	if s.LocalSize != [3]uint32{64, 1, 1} {
		t.Errorf("specialized saxpy local size %v", s.LocalSize)
	}
}

// TestSharedMemorySpecialized: shared memory sized by a specialization
// constant is measured with the value given, not the default. Like
// TestSharedMemoryLimit it relies on Reflection.SharedMemory.
func TestSharedMemorySpecialized(t *testing.T) {
	d, _ := open(t, Options{})
	spv := readTestdata(t, "sharedspec.spv")
	if _, err := d.CheckKernel(spv, &KernelOptions{Spec: map[uint32]any{0: 64, 1: true}}); err != nil {
		t.Fatalf("256 bytes of shared memory: %v", err)
	}
	_, err := d.CheckKernel(spv, &KernelOptions{Spec: map[uint32]any{0: 1 << 20}})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("4 MiB of shared memory by specialization: %v, want ErrLimit", err)
	}
}

// lavapipeLimits are lavapipe's limits (Mesa 22.3), for fuzzing the checks
// without a device.
var lavapipeLimits = Limits{
	MaxWorkGroupCount:       [3]uint32{65535, 65535, 65535},
	MaxWorkGroupSize:        [3]uint32{1024, 1024, 1024},
	MaxWorkGroupInvocations: 1024,
	MaxPushConstantsSize:    128,
	MaxStorageBufferRange:   128 << 20,
	MaxUniformBufferRange:   64 << 10,
	MaxSharedMemorySize:     32 << 10,
}

// FuzzCheckKernel feeds mutated shipped modules, with one specialization
// constant set to a fuzzed value, through every check NewKernel makes
// before the driver (planKernel: caps, reflection, specialization,
// validation, limits): no panic or hang, only ErrBadSPIRV, ErrLimit,
// ErrInvalid or ErrUnsupported; and what passes is valid SPIR-V within the
// limits, as specialized.
func FuzzCheckKernel(f *testing.F) {
	for _, spv := range shaders.All() {
		f.Add(spv, uint32(0), uint32(64))
	}
	for _, m := range invalidModules {
		f.Add(readTestdata(f, m.file), uint32(0), uint32(1))
	}
	f.Add(readTestdata(f, "sharedspec.spv"), uint32(0), uint32(1<<20))
	f.Add(readTestdata(f, "sharedspec.spv"), uint32(1), uint32(1))
	f.Add(readTestdata(f, "shared4m.spv"), uint32(0), uint32(0))
	f.Fuzz(func(t *testing.T, spv []byte, id, value uint32) {
		var opts *KernelOptions
		if r, err := Reflect(spv); err == nil && len(r.Spec) > 0 {
			s := r.Spec[int(id%uint32(len(r.Spec)))]
			var v any = value
			switch s.Type {
			case SpecBool:
				v = value&1 == 1
			case SpecInt32:
				v = int32(value)
			case SpecFloat32:
				v = math.Float32frombits(value)
			}
			opts = &KernelOptions{Spec: map[uint32]any{s.ID: v}}
		}
		pl, err := planKernel("fuzz", lavapipeLimits, Vulkan12, spv, opts)
		if err != nil {
			if !errors.Is(err, ErrBadSPIRV) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%v", err)
			}
			return
		}
		ls := pl.localSize
		if ls[0]*ls[1]*ls[2] > lavapipeLimits.MaxWorkGroupInvocations || ls[0] == 0 || ls[1] == 0 || ls[2] == 0 {
			t.Fatalf("local size %v passed", ls)
		}
		if pl.refl.PushSize > int(lavapipeLimits.MaxPushConstantsSize) {
			t.Fatalf("push size %d passed", pl.refl.PushSize)
		}
		if err := ValidateSPIRV(spv, Vulkan12); err != nil && opts == nil {
			t.Fatalf("passed the checks but does not validate: %v", err)
		}
	})
}

// TestValidateTypeTree: the nested-struct attack, which reflection
// now handles in microseconds, must not reach SPIRV-Tools either: its
// layout check walks the type tree (30^6 nodes here, minutes of CPU).
// Trees up to MaxTypeTree still go to the validator.
func TestValidateTypeTree(t *testing.T) {
	for _, spaced := range []bool{false, true} {
		err := ValidateSPIRV(nestedModule(5, 30, spaced), Vulkan12)
		if !errors.Is(err, ErrBadSPIRV) || !strings.Contains(err.Error(), "MaxTypeTree") {
			t.Errorf("6-deep, 30-wide nesting (spaced %v): %v, want ErrBadSPIRV naming MaxTypeTree", spaced, err)
		}
	}
	// 30^4 + ... nodes: under the cap, so the validator decides.
	if err := ValidateSPIRV(nestedModule(3, 30, true), Vulkan12); err != nil && strings.Contains(err.Error(), "MaxTypeTree") {
		t.Errorf("4-deep nesting (%d nodes) was refused by the tree cap: %v", 30*30*30*30, err)
	}
	if err := checkTypeTrees("t", shaders.Julia()); err != nil {
		t.Errorf("julia: %v", err)
	}
}
