//go:build linux && cgo

// Package spvtools binds the SPIR-V validator of SPIRV-Tools (Debian's
// spirv-tools static library, through its C API). It is the only place in
// vkio that uses that library.
package spvtools

/*
// Not `#cgo pkg-config: SPIRV-Tools`: Debian's SPIRV-Tools.pc names no
// C++ runtime and cgo puts pkg-config's libraries after LDFLAGS, so the
// static library's libstdc++ references stay unresolved.
#cgo LDFLAGS: -lSPIRV-Tools -lstdc++ -lm
#include <stdlib.h>
#include <string.h>
#include <spirv-tools/libspirv.h>

// vkio_spv_validate validates n words at code (memory the caller owns for
// the call; nothing is kept) for env with default validator options, and
// returns the result. On failure *msg is a malloc'd copy of the diagnostic
// text (or NULL) and *index its position. The context, options and
// diagnostic are made and destroyed here: a context costs ~130 ns
// (BenchmarkContext), nothing next to a validation.
static spv_result_t vkio_spv_validate(spv_target_env env, const uint32_t *code, size_t n, char **msg, size_t *index) {
	*msg = NULL;
	*index = 0;
	spv_context ctx = spvContextCreate(env);
	if (ctx == NULL) {
		return SPV_ERROR_OUT_OF_MEMORY;
	}
	spv_validator_options opts = spvValidatorOptionsCreate();
	if (opts == NULL) {
		spvContextDestroy(ctx);
		return SPV_ERROR_OUT_OF_MEMORY;
	}
	spv_const_binary_t bin = {code, n};
	spv_diagnostic diag = NULL;
	spv_result_t r = spvValidateWithOptions(ctx, opts, &bin, &diag);
	spvValidatorOptionsDestroy(opts);
	spvContextDestroy(ctx);
	if (diag != NULL) {
		if (diag->error != NULL) {
			*msg = strdup(diag->error);
		}
		*index = diag->position.index;
		spvDiagnosticDestroy(diag);
	}
	return r;
}
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// Env is a SPIR-V target environment: the Vulkan version whose rules (and
// highest SPIR-V version) the validator applies.
type Env int

// Target environments.
const (
	Vulkan10      Env = iota // Vulkan 1.0: SPIR-V 1.0
	Vulkan11                 // Vulkan 1.1: SPIR-V up to 1.3
	Vulkan11Spv14            // Vulkan 1.1 with VK_KHR_spirv_1_4: SPIR-V up to 1.4
	Vulkan12                 // Vulkan 1.2: SPIR-V up to 1.5
	Vulkan13                 // Vulkan 1.3: SPIR-V up to 1.6
	numEnvs
)

var envNames = [numEnvs]string{"vulkan1.0", "vulkan1.1", "vulkan1.1spv1.4", "vulkan1.2", "vulkan1.3"}

var cEnvs = [numEnvs]C.spv_target_env{C.SPV_ENV_VULKAN_1_0, C.SPV_ENV_VULKAN_1_1, C.SPV_ENV_VULKAN_1_1_SPIRV_1_4,
	C.SPV_ENV_VULKAN_1_2, C.SPV_ENV_VULKAN_1_3}

// String names the environment as spirv-val's --target-env does.
func (e Env) String() string {
	if e < 0 || e >= numEnvs {
		return fmt.Sprintf("Env(%d)", int(e))
	}
	return envNames[e]
}

// Valid reports whether e is one of the environments above.
func (e Env) Valid() bool { return e >= 0 && e < numEnvs }

// MaxMessage bounds the diagnostic text kept in an Error, in bytes: the
// validator quotes the offending instruction, which can be as long as the
// module's longest instruction (a 65,535-word OpString).
const MaxMessage = 1024

// Error is a validation failure.
type Error struct {
	// Code is the spv_result_t (negative).
	Code int
	// Message is the validator's diagnostic text, at most MaxMessage bytes
	// (then ending in "…"), without the trailing newline.
	Message string
	// Instruction is the 1-based ordinal of the instruction the diagnostic
	// names (0: the header or the module as a whole), as the validator
	// reports it.
	Instruction int
	// Word is the word offset of that instruction in the module (0 for the
	// header), or -1 where the instruction lies beyond what could be walked.
	Word int
}

// Error formats the message with its position.
func (e *Error) Error() string {
	pos := "module header"
	switch {
	case e.Instruction > 0 && e.Word >= 0:
		pos = fmt.Sprintf("instruction %d at word %d", e.Instruction, e.Word)
	case e.Instruction > 0:
		pos = fmt.Sprintf("instruction %d", e.Instruction)
	}
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("spv_result_t %d", e.Code)
	}
	return pos + ": " + msg
}

// Validate validates a SPIR-V module (words in the host's byte order, as
// glslc writes them on a little-endian host) for env with the validator's default options: nothing
// relaxed. It returns nil or an *Error. The module is read during the call
// only; it must be a whole number of words. Safe for concurrent use.
func Validate(module []byte, env Env) error {
	if !env.Valid() {
		return &Error{Code: int(C.SPV_ERROR_INVALID_VALUE), Message: "unknown target environment " + env.String()}
	}
	if len(module) == 0 || len(module)%4 != 0 {
		return &Error{Code: int(C.SPV_ERROR_INVALID_BINARY), Message: fmt.Sprintf("module of %d bytes is not a non-empty whole number of 32-bit words", len(module))}
	}
	var code []uint32
	if uintptr(unsafe.Pointer(&module[0]))%4 == 0 {
		// The same bytes seen as words: native order, as a file read into
		// memory would be (the validator checks the magic either way).
		code = unsafe.Slice((*uint32)(unsafe.Pointer(&module[0])), len(module)/4)
	} else {
		code = make([]uint32, len(module)/4)
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&code[0])), len(module)), module)
	}
	var msg *C.char
	var index C.size_t
	// code holds no Go pointers; cgo pins it for the call and C keeps no
	// reference after returning.
	r := C.vkio_spv_validate(cEnvs[env], (*C.uint32_t)(unsafe.Pointer(&code[0])), C.size_t(len(code)), &msg, &index)
	if r == C.SPV_SUCCESS {
		if msg != nil {
			C.free(unsafe.Pointer(msg))
		}
		return nil
	}
	e := &Error{Code: int(r), Instruction: int(index), Word: -1}
	if msg != nil {
		e.Message = trim(C.GoString(msg))
		C.free(unsafe.Pointer(msg))
	}
	e.Word = wordOf(code, e.Instruction)
	return e
}

// wordOf returns the word offset of the n-th instruction (1-based; 0 means
// the header, offset 0), walking the word counts after the 5-word header,
// or -1 if the walk ends first (a zero word count, or past the end). The
// words are in either byte order, as the magic says.
func wordOf(code []uint32, n int) int {
	if n <= 0 {
		return 0
	}
	const magic, header = 0x07230203, 5
	if len(code) < header {
		return -1
	}
	swap := code[0] != magic
	off := header
	for i := 1; i < n; i++ {
		if off >= len(code) {
			return -1
		}
		w := code[off]
		if swap {
			w = w>>24 | (w>>8)&0xff00 | (w<<8)&0xff0000 | w<<24
		}
		wc := int(w >> 16)
		if wc == 0 {
			return -1
		}
		off += wc
	}
	if off >= len(code) {
		return -1
	}
	return off
}

// trim puts the text on one line (the validator's message and the
// instruction it quotes, joined by " | "), bounds it to MaxMessage bytes
// (on a UTF-8 boundary), and replaces control characters other than tab,
// so that the text is safe to show.
func trim(s string) string {
	lines := strings.Split(s, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			kept = append(kept, l)
		}
	}
	s = strings.Join(kept, " | ")
	cut := len(s) > MaxMessage
	if cut {
		n := MaxMessage
		for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
			n--
		}
		s = s[:n]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if cut {
		s += "…"
	}
	return s
}

// newContext and freeContext are for BenchmarkContext, which measures the
// cost of the context vkio_spv_validate makes per call.
func newContext(env Env) C.spv_context { return C.spvContextCreate(cEnvs[env]) }
func freeContext(c C.spv_context)      { C.spvContextDestroy(c) }
