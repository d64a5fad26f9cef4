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
