//go:build linux && cgo

package spvtools

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func shipped(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../../../shaders/*.spv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped shaders: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func TestShippedValid(t *testing.T) {
	for name, b := range shipped(t) {
		for _, env := range []Env{Vulkan11, Vulkan11Spv14, Vulkan12, Vulkan13} {
			if err := Validate(b, env); err != nil {
				t.Errorf("%s (%s): %v", name, env, err)
			}
		}
		// Shipped modules are SPIR-V 1.3: too new for Vulkan 1.0.
		err := Validate(b, Vulkan10)
		var ve *Error
		if !errors.As(err, &ve) || !strings.Contains(ve.Message, "version") {
			t.Errorf("%s under vulkan1.0: %v, want a version error", name, err)
		}
	}
}

func TestPosition(t *testing.T) {
	b, err := os.ReadFile("../../testdata/pos.spv")
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(b, Vulkan11)
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("pos.spv: %v, want *Error", err)
	}
	if !strings.Contains(ve.Message, "BuiltIn Position") || ve.Instruction <= 0 || ve.Word < 5 {
		t.Fatalf("pos.spv: %+v", ve)
	}
	// The word offset names the instruction the message quotes: an OpLoad.
	w := uint32(b[4*ve.Word]) | uint32(b[4*ve.Word+1])<<8
	if w != 61 { // OpLoad
		t.Errorf("word %d holds opcode %d, want OpLoad (61); error %v", ve.Word, w, ve)
	}
	if !strings.Contains(ve.Error(), "word") {
		t.Errorf("Error() = %q, want the word offset", ve.Error())
	}
}

func TestBadInput(t *testing.T) {
	good := shipped(t)["tiny.spv"]
	cases := map[string][]byte{
		"empty":       nil,
		"odd length":  good[:len(good)-1],
		"truncated":   good[:len(good)-4],
		"header only": good[:20],
		"bad magic":   append([]byte{1, 2, 3, 4}, good[4:]...),
		"zero words":  make([]byte, 64),
	}
	for name, b := range cases {
		err := Validate(b, Vulkan11)
		var ve *Error
		if !errors.As(err, &ve) || ve.Code >= 0 {
			t.Errorf("%s: %v, want an *Error", name, err)
		}
	}
	if err := Validate(good, Env(99)); err == nil {
		t.Error("unknown env accepted")
	}
}

func TestUnaligned(t *testing.T) {
	good := shipped(t)["tiny.spv"]
	buf := make([]byte, len(good)+1)
	copy(buf[1:], good)
	if err := Validate(buf[1:], Vulkan11); err != nil {
		t.Fatalf("unaligned copy: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	mods := shipped(t)
	pos, _ := os.ReadFile("../../testdata/pos.spv")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for name, b := range mods {
					if err := Validate(b, Vulkan12); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
				if Validate(pos, Vulkan12) == nil {
					t.Error("pos.spv accepted")
				}
			}
		}()
	}
	wg.Wait()
}

func TestTrim(t *testing.T) {
	long := strings.Repeat("é", MaxMessage)
	s := trim(long + "\n")
	if len(s) > MaxMessage+len("…") || !strings.HasSuffix(s, "…") {
		t.Errorf("trim: %d bytes", len(s))
	}
	if got := trim("a\x00b\x1b[31m\n"); got != "a?b?[31m" {
		t.Errorf("trim control: %q", got)
	}
	if got := trim("error: bad load\n  %59 = OpLoad %v3uint %gl_Position\n"); got != "error: bad load | %59 = OpLoad %v3uint %gl_Position" {
		t.Errorf("trim lines: %q", got)
	}
}

func BenchmarkValidate(b *testing.B) {
	for name, m := range shipped(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(m)))
			for b.Loop() {
				if err := Validate(m, Vulkan12); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkContext measures what caching the context saves.
func BenchmarkContext(b *testing.B) {
	for b.Loop() {
		c := newContext(Vulkan12)
		freeContext(c)
	}
}
