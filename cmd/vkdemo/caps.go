package main

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vkio/vkio/job"
)

// Caps on everything a size comes from outside (a command line, a file, a
// request). Each is checked before anything of that size is allocated, so
// the memory a parser takes is bounded by its input and these caps, never
// by a number the input states.
const (
	// maxShaderFile bounds a shader file read by run (SPIR-V, or GLSL
	// handed to glslc): shipped kernels are a few KiB.
	maxShaderFile = 64 << 20
	// maxBindingBytes bounds one binding's buffer (run and serve).
	maxBindingBytes = job.MaxBindingBytes
	// maxBindFile bounds a --bind file:PATH input: a binding and a .npy
	// header.
	maxBindFile = job.MaxBindFile
	// maxBindings bounds the bindings named by --bind, --out and --type
	// (and serve's bind, types, outputs, save and bindingN parts).
	maxBindings = job.MaxBindings
	// maxPushBytes bounds the push constants given with --push (serve's
	// push).
	maxPushBytes = job.MaxPushBytes
	// maxSpecConstants bounds the specialization constants given with
	// --spec (serve's spec).
	maxSpecConstants = job.MaxSpecConstants
	// maxShow bounds --show, the values printed per output binding.
	maxShow = 1 << 16
)

// maxQuote is how much of an input an error message quotes.
const maxQuote = 64

// q quotes s for an error message, as %q does, cut to maxQuote bytes (at a
// rune boundary) with "…": an error never echoes an input whole, however
// long it is.
func q(s string) string {
	if len(s) <= maxQuote {
		return strconv.Quote(s)
	}
	cut := maxQuote
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// maxMessage bounds an error message sent to a client.
const maxMessage = 4096

// absPath matches an absolute path of two components or more, after the
// start, a space, a quote or one of "=:(": the server's own files.
var absPath = regexp.MustCompile(`(^|[\s"'=:(])(/[^\s"'/:,)]+)+/([^\s"'/:,)]*)`)

// publicMessage is msg as a client may see it: absolute paths (the
// server's folders) cut to their last component ("…/y.npy") and the whole
// cut to maxMessage bytes.
func publicMessage(msg string) string {
	msg = absPath.ReplaceAllString(msg, "$1…/$3")
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// trimPrefixDir removes dir+"/" from every path in msg that starts with it:
// a save path is shown as the client gave it, relative to --out.
func trimPrefixDir(msg, dir string) string {
	if dir == "" || dir == "." {
		return msg
	}
	return strings.ReplaceAll(msg, strings.TrimSuffix(dir, "/")+"/", "")
}
