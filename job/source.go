package job

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// BindHelp documents the SOURCE syntax of a binding.
const BindHelp = `--bind B=SOURCE fills binding B (its number in the shader) from SOURCE:
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
` + SizeHelp + `
A SOURCE without a SIZE takes --size, else the size of the first binding that
has one. Bindings not given with --bind are zeros of that size (a block with
no runtime array: its own size).`

// SourceKind is where a binding's contents come from.
type SourceKind int

// The kinds of source.
const (
	Zeros SourceKind = iota // all zero
	Ones                    // all one
	Iota                    // 0, 1, 2, ...
	Rand                    // pseudo-random: floats in [0,1), integers in [0,1000)
	Fill                    // every element Source.Fill
	File                    // the bytes of a file (raw, or a .npy file's data)
	Data                    // bytes given with the job (an upload), used as they are
)

var kindNames = map[string]SourceKind{"zeros": Zeros, "ones": Ones, "iota": Iota, "rand": Rand, "fill": Fill, "file": File}

// String returns the kind's name in the SOURCE syntax: zeros, fill, file.
func (k SourceKind) String() string {
	for n, v := range kindNames {
		if v == k {
			return n
		}
	}
	if k == Data {
		return "data"
	}
	return "?"
}

// Source is the contents of one binding.
type Source struct {
	// Text is the source as given, clipped, for messages and summaries.
	Text string
	Kind SourceKind
	// Size is the binding's size, nil for the job's default.
	Size *Size
	// Fill is Fill's value, parsed once the element type is known.
	Fill string
	// Path is File's path.
	Path string
	// Data is Data's bytes, used as they are (not copied).
	Data []byte
}

// String returns Text.
func (s Source) String() string { return s.Text }

// DataSource is a Source of bytes given with the job, named name in
// messages ("part binding0"). Its size is the default size of the
// bindings given without one.
func DataSource(name string, data []byte) Source {
	return Source{Text: name, Kind: Data, Data: data, Size: &Size{N: int64(len(data)), InBytes: true}}
}

// parseBindingNumber parses "B" of B=..., a binding number.
func parseBindingNumber(s string) (uint32, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	return uint32(n), err == nil
}

// ParseBind parses one "B=SOURCE" (a --bind value, or a bind entry of the
// JSON as "key=value"), naming the field with names.
func ParseBind(arg string, names Namer) (uint32, Source, error) {
	fb := names.name(FieldBind)
	bs, src, ok := strings.Cut(arg, "=")
	if !ok {
		return 0, Source{}, usagef(FieldBind, "%s %s: want B=SOURCE, e.g. 0=rand:1M or 1=file:in.bin", fb, q(arg))
	}
	b, ok := parseBindingNumber(bs)
	if !ok {
		return 0, Source{}, usagef(FieldBind, "%s %s: binding %s is not a number", fb, q(arg), q(bs))
	}
	name, rest, hasRest := strings.Cut(src, ":")
	kind, ok := kindNames[name]
	if !ok {
		return 0, Source{}, usagef(FieldBind, "%s %s: unknown source %s (want zeros, ones, iota, rand, fill:VALUE or file:PATH)", fb, q(arg), q(name))
	}
	spec := Source{Text: Clip(src), Kind: kind}
	switch kind {
	case File:
		if rest == "" {
			return 0, Source{}, usagef(FieldBind, "%s %s: file needs a path, e.g. %d=file:in.bin", fb, q(arg), b)
		}
		spec.Path = rest
		return b, spec, nil
	case Fill:
		if rest == "" {
			return 0, Source{}, usagef(FieldBind, "%s %s: fill needs a value, e.g. %d=fill:2.5:1M", fb, q(arg), b)
		}
		spec.Fill, rest, hasRest = strings.Cut(rest, ":")
		if _, err := strconv.ParseFloat(spec.Fill, 64); err != nil {
			if _, err := strconv.ParseInt(spec.Fill, 0, 64); err != nil {
				return 0, Source{}, usagef(FieldBind, "%s %s: fill value %s is not a number", fb, q(arg), q(spec.Fill))
			}
		}
	}
	if hasRest {
		sz, err := ParseSize(rest)
		if err != nil {
			return 0, Source{}, usagef(FieldBind, "%s %s: %v", fb, q(arg), err)
		}
		spec.Size = &sz
	}
	return b, spec, nil
}

// Generate makes the contents of a generated source (zeros, ones, iota,
// rand, fill) for a binding of type t and nbytes bytes: one allocation, the
// contents. seed and binding seed rand.
func (s Source) Generate(t DType, nbytes int64, seed uint64, binding uint32) ([]byte, error) {
	n := int(nbytes / int64(t.Size()))
	switch s.Kind {
	case Zeros:
		return make([]byte, nbytes), nil
	case Ones, Fill:
		v, err := ParseValue(t, "1")
		if s.Kind == Fill {
			v, err = ParseValue(t, s.Fill)
		}
		if err != nil {
			return nil, fmt.Errorf("%v (binding %d holds %s)", err, binding, t)
		}
		return bytes.Repeat(v.AppendLE(nil), n), nil
	case Iota:
		out := make([]byte, 0, nbytes)
		for i := range n {
			out = numberLE(out, t, float64(i), uint64(i))
		}
		return out, nil
	case Rand:
		out := make([]byte, 0, nbytes)
		r := rand.New(rand.NewPCG(seed, uint64(binding)))
		for range n {
			out = numberLE(out, t, r.Float64(), r.Uint64N(1000))
		}
		return out, nil
	}
	return nil, fmt.Errorf("binding %d: %s is not a generated source", binding, s.Text)
}

// numberLE appends f (for float types) or u (for integer types) as type t.
func numberLE(b []byte, t DType, f float64, u uint64) []byte {
	v := Value{Type: t, F: f, I: int64(u), U: u}
	return v.AppendLE(b)
}
