package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/vkio/vkio/io"
)

// bindHelp documents --bind.
const bindHelp = `--bind B=SOURCE fills binding B (its number in the shader) from SOURCE:
  zeros[:SIZE]        all zero
  ones[:SIZE]         all one
  iota[:SIZE]         0, 1, 2, ...
  rand[:SIZE]         pseudo-random (see --seed): floats in [0,1), integers in [0,1000)
  fill:VALUE[:SIZE]   every element VALUE, e.g. fill:2.5:1M
  file:PATH           the bytes of PATH (raw, or the data of a .npy file of the
                      binding's element type, whose shape must match its
                      data): a regular file (not a device, FIFO or folder)
                      of at most 2 GiB, plus a .npy header
Elements have the binding's element type, read from the shader (float for
float[] or vec4[], uint for uint[], ...; override with --type B=TYPE).
` + sizeHelp + `
A SOURCE without a SIZE takes --size, else the size of the first binding that
has one. Bindings not given with --bind are zeros of that size (a block with
no runtime array: its own size).`

// bindKind is a --bind source.
type bindKind int

const (
	bindZeros bindKind = iota
	bindOnes
	bindIota
	bindRand
	bindFill
	bindFile
	bindData // bytes given with the spec (serve's uploaded parts); not a --bind source
)

var bindKindNames = map[string]bindKind{"zeros": bindZeros, "ones": bindOnes, "iota": bindIota, "rand": bindRand, "fill": bindFill, "file": bindFile}

// bindSpec is one parsed --bind.
type bindSpec struct {
	text    string // the source as given, clipped for messages
	kind    bindKind
	size    *sizeSpec
	fillStr string // fill's value, parsed once the element type is known
	path    string // file's path
	data    []byte // bindData's bytes, used as they are
}

func (b bindSpec) String() string { return b.text }

// parseBinding parses "B" of B=..., a binding number.
func parseBindingNumber(flag, s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, usageErrorf("%s %s: binding %s is not a number", flag, q(s), q(s))
	}
	return uint32(n), nil
}

// parseBind parses one --bind value.
func parseBind(arg string) (uint32, bindSpec, error) {
	bs, src, ok := strings.Cut(arg, "=")
	if !ok {
		return 0, bindSpec{}, usageErrorf("--bind %s: want B=SOURCE, e.g. 0=rand:1M or 1=file:in.bin", q(arg))
	}
	b, err := parseBindingNumber("--bind", bs)
	if err != nil {
		return 0, bindSpec{}, usageErrorf("--bind %s: binding %s is not a number", q(arg), q(bs))
	}
	name, rest, hasRest := strings.Cut(src, ":")
	kind, ok := bindKindNames[name]
	if !ok {
		return 0, bindSpec{}, usageErrorf("--bind %s: unknown source %s (want zeros, ones, iota, rand, fill:VALUE or file:PATH)", q(arg), q(name))
	}
	spec := bindSpec{text: clip(src), kind: kind}
	switch kind {
	case bindFile:
		if rest == "" {
			return 0, bindSpec{}, usageErrorf("--bind %s: file needs a path, e.g. %d=file:in.bin", q(arg), b)
		}
		spec.path = rest
		return b, spec, nil
	case bindFill:
		if rest == "" {
			return 0, bindSpec{}, usageErrorf("--bind %s: fill needs a value, e.g. %d=fill:2.5:1M", q(arg), b)
		}
		spec.fillStr, rest, hasRest = strings.Cut(rest, ":")
		if _, err := strconv.ParseFloat(spec.fillStr, 64); err != nil {
			if _, err := strconv.ParseInt(spec.fillStr, 0, 64); err != nil {
				return 0, bindSpec{}, usageErrorf("--bind %s: fill value %s is not a number", q(arg), q(spec.fillStr))
			}
		}
	}
	if hasRest {
		sz, err := parseSize(rest)
		if err != nil {
			return 0, bindSpec{}, usageErrorf("--bind %s: %v", q(arg), err)
		}
		spec.size = &sz
	}
	return b, spec, nil
}

// generate makes the contents of a binding of type t and nbytes bytes.
func (b bindSpec) generate(t dtype, nbytes int64, seed uint64, binding uint32) ([]byte, error) {
	n := int(nbytes / int64(t.size()))
	switch b.kind {
	case bindZeros:
		return make([]byte, nbytes), nil
	case bindOnes, bindFill:
		v, err := parseValue(t, "1")
		if b.kind == bindFill {
			v, err = parseValue(t, b.fillStr)
		}
		if err != nil {
			return nil, usageErrorf("--bind %d=%s: %v (binding %d holds %s)", binding, b.text, err, binding, t)
		}
		one := v.appendLE(nil)
		return bytes.Repeat(one, n), nil
	case bindIota:
		out := make([]byte, 0, nbytes)
		for i := range n {
			out = numberLE(out, t, float64(i), uint64(i))
		}
		return out, nil
	case bindRand:
		out := make([]byte, 0, nbytes)
		r := rand.New(rand.NewPCG(seed, uint64(binding)))
		for range n {
			out = numberLE(out, t, r.Float64(), r.Uint64N(1000))
		}
		return out, nil
	}
	return nil, fmt.Errorf("binding %d: %s is not a generated source", binding, b.text)
}

// numberLE appends f (for float types) or u (for integer types) as type t.
func numberLE(b []byte, t dtype, f float64, u uint64) []byte {
	v := value{t: t, f: f, i: int64(u), u: u}
	return v.appendLE(b)
}

// readBindFile reads a file source: raw bytes, or a .npy file's data, which
// must have the binding's element type. The file must be a regular file of
// at most maxBindFile bytes (a binding's limit, and a .npy header): devices
// (/dev/zero), FIFOs and larger files are refused before anything is read.
func readBindFile(x io.Io, path string, t dtype) ([]byte, error) {
	data, err := io.Cwd().ReadFileMax(x, path, maxBindFile)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte(npyMagic)) {
		return data, nil
	}
	a, err := parseNpy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if a.typ != t {
		return nil, fmt.Errorf("%s holds %s values, but the binding holds %s (%s); use --type to change the binding's type", path, a.descr, t, t.npyDescr())
	}
	return a.body, nil
}
