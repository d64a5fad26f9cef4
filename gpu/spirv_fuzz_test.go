package gpu

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// reflectSeeds are the modules FuzzReflect starts from: the repository's
// shaders, the testdata modules (pos.spv is julia.spv with its
// GlobalInvocationId turned into Position, a module that crashed lavapipe),
// the nested-struct attack, and the overflow and cycle cases.
func reflectSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, pattern := range []string{"../shaders/*.spv", "testdata/*.spv", "../cmd/vkdemo/testdata/*.spv"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	if len(seeds) < 5 {
		f.Fatalf("only %d seed modules found", len(seeds))
	}
	seeds = append(seeds, nestedModule(5, 30, true), nestedModule(5, 30, false), nestedModule(2, 3, true), flatModule(3))
	for _, c := range overflowCases {
		m := newModule()
		c.build(m)
		seeds = append(seeds, m.bytes())
	}
	for _, build := range cycleCases {
		m := newModule()
		build(m)
		seeds = append(seeds, m.bytes())
	}
	// Bad headers and instructions.
	saxpy := seeds[0]
	seeds = append(seeds, saxpy[:len(saxpy)/2], saxpy[:24],
		spvBytes([]uint32{spvMagic, 0x00010300, 0, 0xffffffff, 0}),
		spvBytes([]uint32{spvMagic, 0x00010300, 0, 4e9, 0, 0}),
		spvBytes([]uint32{spvMagic, 0x00010300, 0, 100, 0, 0xffff<<16 | opTypeStruct}))
	return seeds
}

// FuzzReflect: on any input, Reflect returns a Reflection or an
// ErrBadSPIRV, never panics, does work bounded by the module's length, and
// what it returns is sane (sizes within MaxReflectTypeSize, bindings sorted
// and distinct, no zero local size).
func FuzzReflect(f *testing.F) {
	for _, s := range reflectSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spv []byte) {
		r, steps, err := reflectSteps(context.Background(), spv)
		if words := len(spv) / 4; steps > workBound*words+64 {
			t.Fatalf("%d steps for a module of %d words", steps, words)
		}
		if err != nil {
			var ge *Error
			if !errors.Is(err, ErrBadSPIRV) || !errors.As(err, &ge) || ge.Detail == "" {
				t.Fatalf("error %v is not a detailed ErrBadSPIRV", err)
			}
			if r != nil {
				t.Fatalf("a Reflection with error %v", err)
			}
			return
		}
		checkReflection(t, r)
		// Reflection is deterministic.
		again, err := Reflect(spv)
		if err != nil {
			t.Fatalf("second reflection: %v", err)
		}
		if !sameReflection(r, again) {
			t.Fatalf("two reflections differ:\n%+v\n%+v", r, again)
		}
	})
}

func checkReflection(t *testing.T, r *Reflection) {
	t.Helper()
	inRange := func(what string, n int) {
		if n < 0 || n > MaxReflectTypeSize {
			t.Fatalf("%s %d out of range", what, n)
		}
	}
	inRange("PushSize", r.PushSize)
	inRange("SharedMemory", r.SharedMemory)
	for k, v := range r.LocalSize {
		if v == 0 {
			t.Fatalf("local size %v: dimension %d is zero", r.LocalSize, k)
		}
	}
	for i, b := range r.Bindings {
		inRange("MinSize", b.MinSize)
		if b.Kind != StorageBuffer && b.Kind != UniformBuffer {
			t.Fatalf("binding kind %v", b.Kind)
		}
		if i > 0 {
			p := r.Bindings[i-1]
			if p.Set > b.Set || (p.Set == b.Set && p.Binding >= b.Binding) {
				t.Fatalf("bindings out of order or repeated: %+v", r.Bindings)
			}
		}
	}
	if !sort.SliceIsSorted(r.Spec, func(i, j int) bool { return r.Spec[i].ID < r.Spec[j].ID }) {
		t.Fatalf("spec constants out of order: %+v", r.Spec)
	}
}

func sameReflection(a, b *Reflection) bool {
	if a.Entry != b.Entry || a.LocalSize != b.LocalSize || a.LocalSizeSpec != b.LocalSizeSpec ||
		a.PushSize != b.PushSize || a.SharedMemory != b.SharedMemory || len(a.Bindings) != len(b.Bindings) || len(a.Spec) != len(b.Spec) {
		return false
	}
	for i := range a.Bindings {
		if a.Bindings[i] != b.Bindings[i] {
			return false
		}
	}
	for i := range a.Spec {
		if a.Spec[i] != b.Spec[i] {
			return false
		}
	}
	return true
}

// TestReflectWordMutants reflects every single-word mutant of julia.spv
// made by setting a word to a few interesting values, as the issue's
// attacker did: each must satisfy FuzzReflect's properties.
func TestReflectWordMutants(t *testing.T) {
	spv, err := os.ReadFile("../shaders/julia.spv")
	if err != nil {
		t.Fatal(err)
	}
	mutant := make([]byte, len(spv))
	for i := 0; i < len(spv)/4; i++ {
		orig := binary.LittleEndian.Uint32(spv[4*i:])
		for _, v := range []uint32{0, 1, 0xffffffff, 0x7fffffff, orig + 1, orig ^ 0xffff0000, orig&0xffff | 1<<16} {
			copy(mutant, spv)
			binary.LittleEndian.PutUint32(mutant[4*i:], v)
			r, steps, err := reflectSteps(context.Background(), mutant)
			if steps > workBound*len(spv)/4+64 {
				t.Fatalf("word %d = %#x: %d steps", i, v, steps)
			}
			if err != nil {
				if !errors.Is(err, ErrBadSPIRV) {
					t.Fatalf("word %d = %#x: %v", i, v, err)
				}
				continue
			}
			checkReflection(t, r)
		}
	}
}

// fuzzValues are the numbers programModule draws lengths, counts, offsets
// and strides from: small ones, and ones near the limits.
var fuzzValues = [...]uint32{0, 1, 2, 3, 4, 7, 16, 30, 256, 1 << 16, 1 << 28, 1 << 29, 1 << 30, 1 << 31, 0x7fffffff, 0xfffffff0, 0xffffffff, 23170}

// programModule builds a module from a program of bytes, one type,
// constant, variable or decoration per step, with operands drawn from the
// ids made so far (or, now and then, ids not made yet: forward references
// and cycles). FuzzReflectModule explores type layouts this way much faster
// than by mutating bytes.
func programModule(prog []byte) []byte {
	m := newModule()
	var types, vars []uint32
	pos := 0
	next := func() byte {
		if pos >= len(prog) {
			return 0
		}
		pos++
		return prog[pos-1]
	}
	value := func() uint32 { return fuzzValues[int(next())%len(fuzzValues)] }
	pick := func() uint32 {
		b := next()
		if len(types) == 0 || b >= 240 {
			return m.next + uint32(b%4) // not made yet: a forward reference, or this very type
		}
		return types[int(b)%len(types)]
	}
	for steps := 0; pos < len(prog) && steps < 256; steps++ {
		switch next() % 12 {
		case 0:
			types = append(types, m.typ(opTypeFloat, [...]uint32{16, 32, 64}[next()%3]))
		case 1:
			types = append(types, m.typ(opTypeInt, [...]uint32{8, 16, 32, 64}[next()%4], uint32(next()%2)))
		case 2:
			types = append(types, m.typ([...]uint32{opTypeVector, opTypeMatrix}[next()%2], pick(), value()))
		case 3:
			e, n := pick(), value()
			types = append(types, m.array(e, n))
		case 4:
			types = append(types, m.typ(opTypeRuntimeArray, pick()))
		case 5:
			k := int(next() % 8)
			members, offsets := make([]uint32, k), make([]uint32, k)
			spaced := next()%2 == 0
			for j := range members {
				members[j] = pick()
				if spaced {
					offsets[j] = uint32(j) * value()
				} else {
					offsets[j] = value()
				}
			}
			types = append(types, m.strct(members, offsets))
		case 6:
			t := pick()
			if sc := [...]uint32{storageStorageBuffer, storageUniform, storagePushConstant, storageWorkgroup, storageUniformConstant, 6}[next()%6]; sc == storageStorageBuffer || sc == storageUniform {
				vars = append(vars, m.storageBlock(t, uint32(next()%4)))
			} else {
				vars = append(vars, m.variable(t, sc))
			}
		case 7:
			m.decorate(pick(), decArrayStride, value())
		case 8:
			c := m.id()
			m.decl(opSpecConstant, m.uint32T(), c, value())
			m.decorate(c, decSpecID, uint32(next()%4))
			types = append(types, m.typ(opTypeArray, pick(), c))
		case 9:
			if len(vars) > 0 {
				v := vars[int(next())%len(vars)]
				m.decorate(v, [...]uint32{decBinding, decDescriptorSet}[next()%2], uint32(next()%4))
			}
		case 10:
			m.memberDecorate(pick(), uint32(next()%4), [...]uint32{decOffset, decNonWritable}[next()%2], value())
		case 11:
			// A raw instruction of any opcode with two operands.
			m.decl(uint32(next())|uint32(next())<<8, pick(), value())
		}
	}
	return m.bytes()
}

// FuzzReflectModule checks FuzzReflect's properties on modules built by
// programModule: well-formed at the instruction level, wild in their types.
func FuzzReflectModule(f *testing.F) {
	f.Add([]byte{0, 1, 5, 3, 0, 0, 0, 0, 6, 255, 0})                // struct of floats in a block
	f.Add([]byte{0, 1, 3, 0, 16, 7, 1, 13, 5, 1, 0, 1, 0, 6, 2, 0}) // array of 2^32-1 with a stride
	f.Add([]byte{5, 2, 0, 241, 241, 6, 0, 0})                       // struct containing itself
	f.Add([]byte{1, 1, 1, 8, 4, 0, 3, 6, 3, 3, 6, 0, 0})            // spec-sized array in shared memory
	f.Fuzz(func(t *testing.T, prog []byte) {
		spv := programModule(prog)
		r, steps, err := reflectSteps(context.Background(), spv)
		if words := len(spv) / 4; steps > workBound*words+64 {
			t.Fatalf("%d steps for a module of %d words", steps, words)
		}
		if err != nil {
			if !errors.Is(err, ErrBadSPIRV) {
				t.Fatalf("error %v is not ErrBadSPIRV", err)
			}
			return
		}
		checkReflection(t, r)
	})
}
