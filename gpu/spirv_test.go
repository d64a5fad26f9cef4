package gpu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// spvModule builds a SPIR-V compute module word by word, so that tests can
// make any module (hostile ones included) without a compiler. Types,
// constants and variables go to decls in the order they are added; the
// module around them is a valid `void main() {}` with local size 1×1×1.
type spvModule struct {
	annot []uint32 // OpDecorate, OpMemberDecorate
	decls []uint32 // types, constants, variables
	next  uint32   // next free id
	bound uint32   // header bound; next when 0

	void, fn, main uint32
	label          uint32
	u32            uint32 // OpTypeInt 32 0, made on first use
	f32            uint32 // OpTypeFloat 32, made on first use
	consts         map[uint32]uint32
}

func newModule() *spvModule {
	m := &spvModule{next: 1, consts: map[uint32]uint32{}}
	m.void, m.fn, m.main, m.label = m.id(), m.id(), m.id(), m.id()
	m.decl(19, m.void)       // OpTypeVoid
	m.decl(33, m.fn, m.void) // OpTypeFunction %void
	return m
}

func (m *spvModule) id() uint32 { m.next++; return m.next - 1 }

func inst(dst *[]uint32, op uint32, args ...uint32) {
	*dst = append(*dst, uint32(len(args)+1)<<16|op)
	*dst = append(*dst, args...)
}

func (m *spvModule) decl(op uint32, args ...uint32) { inst(&m.decls, op, args...) }

func (m *spvModule) decorate(id, dec uint32, vals ...uint32) {
	inst(&m.annot, opDecorate, append([]uint32{id, dec}, vals...)...)
}

func (m *spvModule) memberDecorate(id, member, dec uint32, vals ...uint32) {
	inst(&m.annot, opMemberDecorate, append([]uint32{id, member, dec}, vals...)...)
}

func (m *spvModule) uint32T() uint32 {
	if m.u32 == 0 {
		m.u32 = m.id()
		m.decl(opTypeInt, m.u32, 32, 0)
	}
	return m.u32
}

func (m *spvModule) float32T() uint32 {
	if m.f32 == 0 {
		m.f32 = m.id()
		m.decl(opTypeFloat, m.f32, 32)
	}
	return m.f32
}

// constant returns a uint constant of value v, made once.
func (m *spvModule) constant(v uint32) uint32 {
	if c, ok := m.consts[v]; ok {
		return c
	}
	t, c := m.uint32T(), m.id()
	m.decl(opConstant, t, c, v)
	m.consts[v] = c
	return c
}

func (m *spvModule) typ(op uint32, args ...uint32) uint32 {
	id := m.id()
	m.decl(op, append([]uint32{id}, args...)...)
	return id
}

func (m *spvModule) array(elem, n uint32) uint32 {
	c := m.constant(n)
	return m.typ(opTypeArray, elem, c)
}

// strct declares a struct; offsets, if given, decorate its members.
func (m *spvModule) strct(members []uint32, offsets []uint32) uint32 {
	s := m.typ(opTypeStruct, members...)
	for k, off := range offsets {
		m.memberDecorate(s, uint32(k), decOffset, off)
	}
	return s
}

// variable declares a variable of type *t in storage class sc.
func (m *spvModule) variable(t, sc uint32) uint32 {
	p := m.typ(opTypePointer, sc, t)
	v := m.id()
	m.decl(opVariable, p, v, sc)
	return v
}

// storageBlock declares `buffer { t's members } ` at set 0 and binding b.
func (m *spvModule) storageBlock(t, b uint32) uint32 {
	m.decorate(t, decBlock)
	v := m.variable(t, storageStorageBuffer)
	m.decorate(v, decDescriptorSet, 0)
	m.decorate(v, decBinding, b)
	return v
}

// words assembles the module.
func (m *spvModule) words() []uint32 {
	bound := m.bound
	if bound == 0 {
		bound = m.next
	}
	w := []uint32{spvMagic, 0x00010300, 0, bound, 0}
	inst(&w, 17, 1)                                                   // OpCapability Shader
	inst(&w, 14, 0, 1)                                                // OpMemoryModel Logical GLSL450
	inst(&w, opEntryPoint, execModelGLCompute, m.main, 0x6e69616d, 0) // "main"
	inst(&w, opExecutionMode, m.main, execModeLocalSize, 1, 1, 1)
	w = append(w, m.annot...)
	w = append(w, m.decls...)
	inst(&w, opFunction, m.void, m.main, 0, m.fn)
	inst(&w, 248, m.label) // OpLabel
	inst(&w, 253)          // OpReturn
	inst(&w, opFunctionEnd)
	return w
}

func (m *spvModule) bytes() []byte { return spvBytes(m.words()) }

func spvBytes(w []uint32) []byte {
	b := make([]byte, 4*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// nestedModule is the attack of issue 12: a storage block whose type nests
// depth levels of structs, each with width members of the level below (the
// bottom level has width floats). With spaced, members are laid out one
// after the other, so the block is 4·width^(depth+1) bytes; otherwise every
// member is at offset 0 (the block is 4 bytes), which keeps the size legal
// at any depth. A reflector that walks members again for each use takes
// width^depth steps.
func nestedModule(depth, width int, spaced bool) []byte {
	m := newModule()
	f := m.float32T()
	t, size := f, uint32(4)
	for level := 0; level <= depth; level++ {
		members := make([]uint32, width)
		offsets := make([]uint32, width)
		for k := range members {
			members[k] = t
			if spaced {
				offsets[k] = uint32(k) * size // wraps for deep modules: the size check must fire first
			}
		}
		t = m.strct(members, offsets)
		size *= uint32(width)
	}
	m.storageBlock(t, 0)
	return m.bytes()
}

// flatModule declares n storage blocks `buffer Bk { uint data[]; }`.
func flatModule(n int) []byte {
	m := newModule()
	rt := m.typ(opTypeRuntimeArray, m.uint32T())
	m.decorate(rt, decArrayStride, 4)
	for k := 0; k < n; k++ {
		s := m.strct([]uint32{rt}, []uint32{0})
		m.storageBlock(s, uint32(k))
	}
	return m.bytes()
}

// sized calls gen with the count that makes a module of about target bytes.
func sized(target int, gen func(n int) []byte) []byte {
	one, two := len(gen(1)), len(gen(2))
	n := 1
	if per := two - one; per > 0 && target > one {
		n = 1 + (target-one)/per
	}
	return gen(n)
}

// badSPIRVAt checks that err is a detailed ErrBadSPIRV naming an
// instruction (want, e.g. "OpTypeArray at word").
func badSPIRVAt(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrBadSPIRV) {
		t.Fatalf("error %v, want ErrBadSPIRV", err)
	}
	var ge *Error
	if !errors.As(err, &ge) || !strings.Contains(ge.Detail, want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
	t.Logf("%v", err)
}

// workBound is the most steps of work reflection may take per word.
const workBound = 8

func reflectBounded(t *testing.T, spv []byte) (*Reflection, error) {
	t.Helper()
	r, steps, err := reflectSteps(context.Background(), spv)
	if words := len(spv) / 4; steps > workBound*words+64 {
		t.Fatalf("%d steps for a module of %d words", steps, words)
	}
	return r, err
}

func TestReflectBuilderModule(t *testing.T) {
	// The builder's plain module, checked against a GLSL-like expectation.
	m := newModule()
	rt := m.typ(opTypeRuntimeArray, m.float32T())
	m.decorate(rt, decArrayStride, 4)
	s := m.strct([]uint32{m.uint32T(), rt}, []uint32{0, 16})
	m.memberDecorate(s, 0, decNonWritable)
	m.memberDecorate(s, 1, decNonWritable)
	m.storageBlock(s, 3)
	r, err := reflectBounded(t, m.bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := BindingInfo{Set: 0, Binding: 3, Kind: StorageBuffer, ReadOnly: true, MinSize: 16, RuntimeArray: true, Elem: Float32}
	if r.Entry != "main" || r.LocalSize != [3]uint32{1, 1, 1} || len(r.Bindings) != 1 || r.Bindings[0] != want {
		t.Fatalf("%+v", r)
	}
}

func TestReflectNestedAttack(t *testing.T) {
	// The module of issue 12: 6 levels of structs of 30 members, ~4.6 KiB,
	// laid out for real, is 4·30^7 bytes: far beyond the limit.
	spv := nestedModule(5, 30, true)
	t.Logf("attack module: %d bytes", len(spv))
	if len(spv) < 4000 || len(spv) > 5500 {
		t.Fatalf("attack module is %d bytes, not about 4.6 KiB", len(spv))
	}
	_, err := reflectBounded(t, spv)
	badSPIRVAt(t, err, "OpTypeStruct at word")
	if !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("error %q does not say the size is too big", err)
	}
	// The same with every member at offset 0 is small, and accepted.
	r, err := reflectBounded(t, nestedModule(5, 30, false))
	if err != nil {
		t.Fatal(err)
	}
	if b := r.Bindings; len(b) != 1 || b[0].MinSize != 4 || b[0].RuntimeArray || b[0].Elem != Float32 {
		t.Fatalf("overlapping attack: %+v", r.Bindings)
	}
	// Sizes just under and over the limit: 4·w^(d+1).
	for _, c := range []struct {
		depth, width int
		size         int64
	}{
		{0, 1, 4}, {3, 30, 4 * 30 * 30 * 30 * 30}, {4, 30, 4 * 30 * 30 * 30 * 30 * 30}, // 97,200,000
		{1, 23170, 4 * 23170 * 23170}, // 2,147,395,600: just under 2^31
		{1, 23171, -1},                // 2,147,580,964: just over
		{0, 1 << 14, 1 << 16},
	} {
		r, err := reflectBounded(t, nestedModule(c.depth, c.width, true))
		if c.size < 0 {
			badSPIRVAt(t, err, "OpTypeStruct at word")
			continue
		}
		if err != nil {
			t.Fatalf("depth %d width %d: %v", c.depth, c.width, err)
		}
		if got := r.Bindings[0].MinSize; int64(got) != c.size {
			t.Fatalf("depth %d width %d: MinSize %d, want %d", c.depth, c.width, got, c.size)
		}
	}
	// Deeper and wider, up to 1 MiB: all linear.
	for _, c := range []struct{ depth, width int }{{1300, 30}, {40, 1000}, {3, 10000}, {30000, 1}} {
		spv := nestedModule(c.depth, c.width, false)
		r, err := reflectBounded(t, spv)
		if err != nil {
			t.Fatalf("depth %d width %d (%d bytes): %v", c.depth, c.width, len(spv), err)
		}
		if r.Bindings[0].MinSize != 4 {
			t.Fatalf("depth %d width %d: %+v", c.depth, c.width, r.Bindings)
		}
		_, err = reflectBounded(t, nestedModule(c.depth, c.width, true))
		if c.width > 1 && !errors.Is(err, ErrBadSPIRV) {
			t.Fatalf("spaced depth %d width %d: %v", c.depth, c.width, err)
		}
	}
}

// overflowCases build modules whose sizes overflow or make no sense; want
// is the instruction the error must name.
var overflowCases = map[string]struct {
	build func(m *spvModule)
	want  string
}{
	"array of 2^32-1 vec4": {func(m *spvModule) {
		v := m.typ(opTypeVector, m.float32T(), 4)
		a := m.array(v, 0xffffffff)
		m.decorate(a, decArrayStride, 16)
		m.storageBlock(m.strct([]uint32{a}, []uint32{0}), 0)
	}, "OpTypeArray at word"},
	"array stride 2^31 times 2": {func(m *spvModule) {
		a := m.array(m.float32T(), 2)
		m.decorate(a, decArrayStride, 1<<31)
		m.storageBlock(m.strct([]uint32{a}, []uint32{0}), 0)
	}, "OpTypeArray at word"},
	"vector of 2^32-1 floats": {func(m *spvModule) {
		v := m.typ(opTypeVector, m.float32T(), 0xffffffff)
		m.storageBlock(m.strct([]uint32{v}, []uint32{0}), 0)
	}, "OpTypeVector at word"},
	"runtime array of huge structs": {func(m *spvModule) {
		big := m.array(m.float32T(), 1<<30) // 4 GiB
		s := m.strct([]uint32{big}, []uint32{0})
		rt := m.typ(opTypeRuntimeArray, s)
		m.storageBlock(m.strct([]uint32{rt}, []uint32{0}), 0)
	}, "OpTypeArray at word"},
	"member offset near 2^32": {func(m *spvModule) {
		v := m.typ(opTypeVector, m.float32T(), 4)
		m.storageBlock(m.strct([]uint32{v, v}, []uint32{0, 0xfffffff8}), 0)
	}, "OpTypeStruct at word"},
	"runtime array at offset near 2^32": {func(m *spvModule) {
		rt := m.typ(opTypeRuntimeArray, m.float32T())
		m.storageBlock(m.strct([]uint32{rt}, []uint32{0xfffffff0}), 0)
	}, "OpTypeStruct at word"},
	"push constants of 2^31 bytes": {func(m *spvModule) {
		a := m.array(m.float32T(), 1<<28)
		s := m.strct([]uint32{a, m.float32T()}, []uint32{0, 1 << 31})
		m.decorate(s, decBlock)
		m.variable(s, storagePushConstant)
	}, "OpTypeStruct at word"},
	"shared array of 2^31 bytes": {func(m *spvModule) {
		m.variable(m.array(m.float32T(), 1<<29), storageWorkgroup)
	}, "OpTypeArray at word"},
	"shared variables adding up beyond 2^31": {func(m *spvModule) {
		a := m.array(m.float32T(), 1<<28) // 1 GiB
		m.variable(a, storageWorkgroup)
		m.variable(a, storageWorkgroup)
	}, "OpVariable at word"},
	"runtime array in shared memory": {func(m *spvModule) {
		m.variable(m.typ(opTypeRuntimeArray, m.float32T()), storageWorkgroup)
	}, "OpTypeRuntimeArray at word"},
	"runtime array not last": {func(m *spvModule) {
		rt := m.typ(opTypeRuntimeArray, m.float32T())
		m.storageBlock(m.strct([]uint32{rt, m.float32T()}, []uint32{0, 4}), 0)
	}, "OpTypeStruct at word"},
	"array of runtime arrays": {func(m *spvModule) {
		rt := m.typ(opTypeRuntimeArray, m.float32T())
		m.storageBlock(m.strct([]uint32{m.array(rt, 2)}, []uint32{0}), 0)
	}, "OpTypeArray at word"},
	"array length not a constant": {func(m *spvModule) {
		v := m.variable(m.float32T(), 6) // a Private variable as the length
		m.storageBlock(m.strct([]uint32{m.typ(opTypeArray, m.float32T(), v)}, []uint32{0}), 0)
	}, "OpTypeArray at word"},
	"pointer in a block": {func(m *spvModule) {
		p := m.typ(opTypePointer, storageStorageBuffer, m.float32T())
		m.storageBlock(m.strct([]uint32{p}, []uint32{0}), 0)
	}, "OpTypePointer at word"},
}

func TestReflectOverflow(t *testing.T) {
	for name, c := range overflowCases {
		t.Run(name, func(t *testing.T) {
			m := newModule()
			c.build(m)
			_, err := reflectBounded(t, m.bytes())
			badSPIRVAt(t, err, c.want)
		})
	}
}

// cycleCases build modules with type cycles and forward references.
var cycleCases = map[string]func(m *spvModule){
	"struct contains itself": func(m *spvModule) {
		s := m.next
		m.storageBlock(m.strct([]uint32{s}, []uint32{0}), 0)
	},
	"two structs contain each other": func(m *spvModule) {
		a, b := m.next, m.next+1
		m.strct([]uint32{b}, []uint32{0})
		m.strct([]uint32{a}, []uint32{0})
		m.storageBlock(a, 0)
	},
	"array of itself": func(m *spvModule) {
		c := m.constant(2)
		a := m.id()
		m.decl(opTypeArray, a, a, c)
		m.storageBlock(m.strct([]uint32{a}, []uint32{0}), 0)
	},
	"vector of a later type": func(m *spvModule) {
		v := m.typ(opTypeVector, m.next+1, 4)
		m.float32T()
		m.storageBlock(m.strct([]uint32{v}, []uint32{0}), 0)
	},
	"member of an undefined id": func(m *spvModule) {
		m.storageBlock(m.strct([]uint32{m.float32T(), 999}, []uint32{0, 4}), 0)
		m.bound = 1000
	},
	"member that is a constant": func(m *spvModule) {
		m.storageBlock(m.strct([]uint32{m.constant(7)}, []uint32{0}), 0)
	},
	"array length declared after it": func(m *spvModule) {
		f := m.float32T()
		m.uint32T()
		a := m.typ(opTypeArray, f, m.next+1)
		m.constant(4)
		m.storageBlock(m.strct([]uint32{a}, []uint32{0}), 0)
	},
}

func TestReflectCycles(t *testing.T) {
	for name, build := range cycleCases {
		t.Run(name, func(t *testing.T) {
			m := newModule()
			build(m)
			_, err := reflectBounded(t, m.bytes())
			badSPIRVAt(t, err, " at word ")
		})
	}
	// An id defined twice could make a cycle out of order: it is refused.
	m := newModule()
	f := m.float32T()
	m.decl(opTypeFloat, f, 32)
	_, err := reflectBounded(t, m.bytes())
	badSPIRVAt(t, err, "OpTypeFloat at word")
}

func TestReflectHeaderAndTruncation(t *testing.T) {
	good := flatModule(2)
	if _, err := reflectBounded(t, good); err != nil {
		t.Fatal(err)
	}
	withBound := func(b uint32) []byte {
		spv := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(spv[12:], b)
		return spv
	}
	for _, b := range []uint32{0, 0xffffffff, 1 << 22, uint32(len(good)/4)*16 + 4097} {
		_, err := Reflect(withBound(b))
		if !errors.Is(err, ErrBadSPIRV) || !strings.Contains(err.Error(), "bound") {
			t.Fatalf("bound %d: %v", b, err)
		}
	}
	// Ids at or beyond a legal bound are refused.
	m := newModule()
	m.storageBlock(m.strct([]uint32{m.float32T()}, []uint32{0}), 0)
	m.bound = m.next - 1
	_, err := Reflect(m.bytes())
	badSPIRVAt(t, err, "out of range")

	// Every truncation at a word boundary, and word counts of 0 and beyond
	// the end at every instruction.
	for n := 0; n < len(good); n += 4 {
		if _, err := reflectBounded(t, good[:n]); !errors.Is(err, ErrBadSPIRV) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	w := flatModuleWords(2)
	for i := 5; i < len(w); i += int(w[i] >> 16) {
		for _, count := range []uint32{0, uint32(len(w) - i + 1), 0xffff} {
			mod := append([]uint32(nil), w...)
			mod[i] = count<<16 | mod[i]&0xffff
			if _, err := reflectBounded(t, spvBytes(mod)); !errors.Is(err, ErrBadSPIRV) {
				t.Fatalf("word %d with count %d: %v", i, count, err)
			}
		}
	}
}

func flatModuleWords(n int) []uint32 {
	b := flatModule(n)
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

// TestReflectNoBigAllocation: a header's bound is checked before tables
// sized from it are allocated.
func TestReflectNoBigAllocation(t *testing.T) {
	tiny := spvBytes([]uint32{spvMagic, 0x00010300, 0, 4e9, 0})
	legal := spvBytes([]uint32{spvMagic, 0x00010300, 0, 4096, 0, 1<<16 | 56})
	for _, c := range []struct {
		name string
		spv  []byte
	}{{"bound 4e9", tiny}, {"bound 4096", legal}, {"bound 2^22", spvBytes([]uint32{spvMagic, 0x00010300, 0, 1 << 22, 0})}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < 10; i++ {
			if _, err := Reflect(c.spv); !errors.Is(err, ErrBadSPIRV) {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 64<<10 {
			t.Fatalf("%s: %d bytes allocated per call for a %d-byte module", c.name, per, len(c.spv))
		}
	}
}

// countdownCtx is a context whose Err turns to Canceled after n calls.
type countdownCtx struct {
	context.Context
	n int
}

func (c *countdownCtx) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

func TestReflectContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReflectContext(ctx, nestedModule(5, 30, false))
	var ge *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ge) || errors.Is(err, ErrBadSPIRV) {
		t.Fatalf("canceled: %v", err)
	}
	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	if _, err := ReflectContext(dctx, flatModule(3)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	// Canceled in the middle of big modules: every phase checks.
	for _, spv := range [][]byte{sized(1<<20, func(n int) []byte { return nestedModule(n, 30, false) }), sized(1<<20, flatModule)} {
		count := &countdownCtx{Context: context.Background(), n: 1 << 30}
		if _, err := ReflectContext(count, spv); err != nil {
			t.Fatal(err)
		}
		checks := 1<<30 - count.n
		t.Logf("%d-byte module: %d checks of the context", len(spv), checks)
		if checks < 10 {
			t.Fatalf("only %d checks of the context", checks)
		}
		for _, n := range []int{0, 1, checks / 2, checks - 1} {
			_, err := ReflectContext(&countdownCtx{Context: context.Background(), n: n}, spv)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("canceled after %d checks: %v", n, err)
			}
		}
	}
}

func TestReflectSharedMemory(t *testing.T) {
	// float a[256]; vec3 v; double d; uint8_t b[3]; struct { uint8_t x; double y; } s;
	m := newModule()
	f := m.float32T()
	m.variable(m.array(f, 256), storageWorkgroup)           // 0..1024
	m.variable(m.typ(opTypeVector, f, 3), storageWorkgroup) // 1024..1036
	f64 := m.typ(opTypeFloat, 64)
	m.variable(f64, storageWorkgroup) // 1040..1048
	u8 := m.typ(opTypeInt, 8, 0)
	m.variable(m.array(u8, 3), storageWorkgroup)                        // 1048..1051
	m.variable(m.strct([]uint32{u8, f64}, nil), storageWorkgroup)       // 1056..1072
	m.variable(m.array(f, 7), 7)                                        // Function storage: not counted
	m.storageBlock(m.strct([]uint32{m.array(f, 1000)}, []uint32{0}), 0) // not counted
	r, err := reflectBounded(t, m.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if r.SharedMemory != 1072 {
		t.Fatalf("SharedMemory %d, want 1072", r.SharedMemory)
	}
	// An array whose length is a specialization constant: its default.
	m = newModule()
	n := m.id()
	m.decl(opSpecConstant, m.uint32T(), n, 100)
	m.decorate(n, decSpecID, 3)
	m.variable(m.typ(opTypeArray, m.float32T(), n), storageWorkgroup)
	if r, err = reflectBounded(t, m.bytes()); err != nil || r.SharedMemory != 400 || len(r.Spec) != 1 {
		t.Fatalf("spec-sized: %+v %v", r, err)
	}
	// shared.comp, compiled by glslc: float s[256] and float
	// t[gl_WorkGroupSize.x * 2] with the default local size 64.
	spv, err := os.ReadFile("testdata/shared.spv")
	if err != nil {
		t.Fatal(err)
	}
	if r, err = reflectBounded(t, spv); err != nil || r.SharedMemory != 1024+512 || r.LocalSize != [3]uint32{64, 1, 1} {
		t.Fatalf("shared.spv: %+v %v", r, err)
	}
	// The shipped shaders: reduce has `shared uint partial[256]`.
	for _, c := range []struct {
		file string
		want int
	}{{"reduce", 1024}, {"saxpy", 0}, {"julia", 0}, {"tiny", 0}} {
		spv, err := os.ReadFile(filepath.Join("..", "shaders", c.file+".spv"))
		if err != nil {
			t.Fatal(err)
		}
		if r, err = Reflect(spv); err != nil || r.SharedMemory != c.want {
			t.Fatalf("%s: SharedMemory %v %v, want %d", c.file, r, err, c.want)
		}
	}
}

// TestReflectDifferential compares every field reflected from the modules in
// the repository with what the reflector before the linear rewrite gave.
func TestReflectDifferential(t *testing.T) {
	want := map[string]string{
		"../shaders/julia.spv":  "{Entry:main LocalSize:[16 16 1] LocalSizeSpec:[-1 -1 -1] PushSize:40 Bindings:[{Set:0 Binding:0 Kind:storage buffer ReadOnly:false MinSize:0 RuntimeArray:true Elem:uint32}] Spec:[] SharedMemory:0}",
		"../shaders/reduce.spv": "{Entry:main LocalSize:[256 1 1] LocalSizeSpec:[-1 -1 -1] PushSize:4 Bindings:[{Set:0 Binding:0 Kind:storage buffer ReadOnly:true MinSize:0 RuntimeArray:true Elem:uint32} {Set:0 Binding:1 Kind:storage buffer ReadOnly:false MinSize:0 RuntimeArray:true Elem:uint32}] Spec:[{ID:0 Type:uint32 Default:4}] SharedMemory:1024}",
		"../shaders/saxpy.spv":  "{Entry:main LocalSize:[256 1 1] LocalSizeSpec:[0 -1 -1] PushSize:8 Bindings:[{Set:0 Binding:0 Kind:storage buffer ReadOnly:true MinSize:0 RuntimeArray:true Elem:float32} {Set:0 Binding:1 Kind:storage buffer ReadOnly:false MinSize:0 RuntimeArray:true Elem:float32}] Spec:[{ID:0 Type:uint32 Default:256}] SharedMemory:0}",
		"../shaders/tiny.spv":   "{Entry:main LocalSize:[1 1 1] LocalSizeSpec:[-1 -1 -1] PushSize:0 Bindings:[{Set:0 Binding:0 Kind:storage buffer ReadOnly:false MinSize:0 RuntimeArray:true Elem:uint32}] Spec:[] SharedMemory:0}",
		"testdata/layout.spv":   "{Entry:main LocalSize:[8 4 1] LocalSizeSpec:[-1 -1 -1] PushSize:98 Bindings:[{Set:0 Binding:0 Kind:uniform buffer ReadOnly:true MinSize:304 RuntimeArray:false Elem:float32} {Set:0 Binding:1 Kind:storage buffer ReadOnly:false MinSize:328 RuntimeArray:false Elem:float64} {Set:1 Binding:0 Kind:storage buffer ReadOnly:true MinSize:16 RuntimeArray:true Elem:float32}] Spec:[] SharedMemory:388}",
		"testdata/spec.spv":     "{Entry:main LocalSize:[1 1 1] LocalSizeSpec:[0 1 -1] PushSize:0 Bindings:[{Set:0 Binding:2 Kind:storage buffer ReadOnly:false MinSize:48 RuntimeArray:false Elem:float64} {Set:0 Binding:3 Kind:storage buffer ReadOnly:false MinSize:8 RuntimeArray:true Elem:float16}] Spec:[{ID:0 Type:uint32 Default:1} {ID:1 Type:uint32 Default:1} {ID:2 Type:int32 Default:7} {ID:3 Type:bool Default:1} {ID:4 Type:float32 Default:1069547520}] SharedMemory:1032}",
	}
	for file, w := range want {
		spv, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := reflectBounded(t, spv)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if got := fmt.Sprintf("%+v", *r); got != w {
			t.Errorf("%s:\n got %s\nwant %s", file, got, w)
		}
	}
}
