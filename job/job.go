// Package job is the room where a GPU compute job is described, checked
// and made ready to run: a typed Job (a kernel by name or SPIR-V bytes, its
// bindings and where their contents come from, element types, push and
// specialization constants, workgroups, iterations, outputs and saves),
// built from vkdemo run's flag strings (FromFlags) or from serve's job JSON
// (FromJSON) into the same value, and resolved against what the shader
// declares (Resolve) into the buffers, constants and dispatch size a
// runner hands to the GPU.
//
// Every check is made once, here. Its messages name the part of the job at
// fault through a Namer, so each front-end words them its own way
// (FlagNames: "--push"; JSONNames: "push"); they are *Error values. Caps
// (MaxBindings, MaxPushBytes, ...) are checked before anything of their
// size is allocated.
//
// The package uses no GPU and no cgo: what it needs of a shader is a
// Shader, which a caller fills from its reflection (gpu.Reflect).
package job

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Job is a compute job, before it meets its shader.
type Job struct {
	// Kernel names the shader: a built-in kernel's name or a file path
	// (for messages when SPIRV is given).
	Kernel string
	// SPIRV is the shader's SPIR-V, when the job carries it.
	SPIRV []byte
	// Bind is where each binding's contents come from; a binding not in it
	// is zeros.
	Bind map[uint32]Source
	// Types overrides the element type the shader declares.
	Types map[uint32]DType
	// Push are the push constants, in order; PushGiven is true when any
	// were given (even none).
	Push      []Value
	PushGiven bool
	// Spec are the specialization constants, typed by the shader.
	Spec map[uint32]SpecArg
	// Groups sets the workgroup counts; Grid the invocations (counts =
	// ceil(grid / local size)). With neither, the grid is 1-D, one
	// invocation per element of the largest binding.
	Groups, Grid *[3]uint32
	// Size is the size of the bindings given without one (nil: the size
	// of the first binding that has one).
	Size *Size
	// Seed seeds the rand source.
	Seed uint64
	// Iterations is how many times the dispatch runs (at least 1).
	Iterations int
	// Outputs are the bindings reported after each iteration; nil means
	// every writable binding.
	Outputs []uint32
	// Saves are the bindings written to files, by binding.
	Saves map[uint32]Save
	// SaveDir, when not "", saves every writable binding not in Saves as
	// SaveDir/bindingB.npy.
	SaveDir string
}

// Save is where a binding is written: Path (a .npy file with its element
// type and shape, else raw bytes) and, for .npy, an optional Shape.
type Save struct {
	Path  string
	Shape []int64
}

// SpecArg is one specialization constant's value as given: Type is "" when
// the caller gave none (the shader's type is used), else a type name or
// "bool".
type SpecArg struct {
	Type  string
	Value string
}

// Flags are a job in vkdemo run's flag syntax, one string per flag value.
type Flags struct {
	Kernel       string
	Binds        []string // B=SOURCE
	Types        []string // B=TYPE
	Spec         []string // ID=[TYPE:]VALUE[,...]
	Push         []string // TYPE:VALUE[,...]
	Outs         []string // B=PATH[.npy[:DIMS]]
	OutDir       string
	Groups, Grid string // X[,Y[,Z]]
	Size         string
	Seed         uint64
	Iterations   int
}

// New returns an empty job of kernel: seed 1, one iteration.
func New(kernel string) *Job {
	return &Job{Kernel: kernel, Bind: map[uint32]Source{}, Types: map[uint32]DType{}, Spec: map[uint32]SpecArg{},
		Saves: map[uint32]Save{}, Seed: 1, Iterations: 1}
}

// FromFlags builds a job from flag strings, checking every value that can
// be checked without the shader. Its errors are *Error, worded by names.
func FromFlags(f Flags, names Namer) (*Job, error) {
	n := names.name
	j := New(f.Kernel)
	j.Seed, j.SaveDir = f.Seed, f.OutDir
	if f.Iterations != 0 {
		j.Iterations = f.Iterations
	}
	if j.Iterations < 1 || j.Iterations > MaxIterations {
		return nil, usagef(FieldIterations, "%s %d: want 1 to %d", n(FieldIterations), f.Iterations, MaxIterations)
	}
	if c := len(f.Binds); c > MaxBindings {
		return nil, usagef(FieldBind, "%s: %d bindings, more than the %d a job takes", n(FieldBind), c, MaxBindings)
	}
	for _, arg := range f.Binds {
		b, src, err := ParseBind(arg, names)
		if err != nil {
			return nil, err
		}
		if _, dup := j.Bind[b]; dup {
			return nil, usagef(FieldBind, "%s: binding %d given twice", n(FieldBind), b)
		}
		j.Bind[b] = src
	}
	if c := len(f.Outs); c > MaxBindings {
		return nil, usagef(FieldOut, "%s: %d bindings, more than the %d a job takes", n(FieldOut), c, MaxBindings)
	}
	outPaths := map[string]uint32{}
	for _, arg := range f.Outs {
		bs, path, ok := strings.Cut(arg, "=")
		if !ok || path == "" {
			return nil, usagef(FieldOut, "%s %s: want B=PATH, e.g. 1=y.npy", n(FieldOut), q(arg))
		}
		b, ok := parseBindingNumber(bs)
		if !ok {
			return nil, usagef(FieldOut, "%s %s: binding %s is not a number", n(FieldOut), q(bs), q(bs))
		}
		o := Save{Path: path}
		if m := shapeSuffix.FindStringSubmatch(path); m != nil && strings.HasSuffix(m[1], ".npy") {
			o.Path = m[1]
			var err error
			if o.Shape, err = ParseShape(m[2]); err != nil {
				return nil, usagef(FieldOut, "%s %s: %v", n(FieldOut), q(arg), err)
			}
		}
		if _, dup := j.Saves[b]; dup {
			return nil, usagef(FieldOut, "%s: binding %d given twice", n(FieldOut), b)
		}
		clean := filepath.Clean(o.Path)
		if other, dup := outPaths[clean]; dup {
			return nil, usagef(FieldOut, "%s: bindings %d and %d both go to %s: one would overwrite the other", n(FieldOut), other, b, q(o.Path))
		}
		outPaths[clean] = b
		j.Saves[b] = o
	}
	if c := len(f.Types); c > MaxBindings {
		return nil, usagef(FieldTypes, "%s: %d bindings, more than the %d a job takes", n(FieldTypes), c, MaxBindings)
	}
	for _, arg := range f.Types {
		bs, ts, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, usagef(FieldTypes, "%s %s: want B=TYPE, e.g. 1=u32", n(FieldTypes), q(arg))
		}
		b, ok := parseBindingNumber(bs)
		if !ok {
			return nil, usagef(FieldTypes, "%s %s: binding %s is not a number", n(FieldTypes), q(bs), q(bs))
		}
		t, err := ParseDType(ts)
		if err != nil {
			return nil, usagef(FieldTypes, "%s %s: %v", n(FieldTypes), q(arg), err)
		}
		if _, dup := j.Types[b]; dup {
			return nil, usagef(FieldTypes, "%s: binding %d given twice", n(FieldTypes), b)
		}
		j.Types[b] = t
	}
	for _, arg := range f.Spec {
		if err := ParseSpec(j.Spec, arg); err != nil {
			return nil, usagef(FieldSpec, "%s %v", n(FieldSpec), err)
		}
	}
	for _, arg := range f.Push {
		j.PushGiven = true
		var err error
		if j.Push, err = ParsePush(j.Push, arg); err != nil {
			return nil, usagef(FieldPush, "%s %v", n(FieldPush), err)
		}
	}
	if f.Groups != "" && f.Grid != "" {
		return nil, usagef(FieldGroups, "%s and %s: give one or the other", n(FieldGroups), n(FieldGrid))
	}
	if f.Groups != "" {
		d, err := ParseDims(f.Groups)
		if err != nil {
			return nil, usagef(FieldGroups, "%s %v", n(FieldGroups), err)
		}
		j.Groups = &d
	}
	if f.Grid != "" {
		d, err := ParseDims(f.Grid)
		if err != nil {
			return nil, usagef(FieldGrid, "%s %v", n(FieldGrid), err)
		}
		j.Grid = &d
	}
	if f.Size != "" {
		s, err := ParseSize(f.Size)
		if err != nil {
			return nil, usagef(FieldSize, "%s: %v", n(FieldSize), err)
		}
		j.Size = &s
	}
	return j, nil
}

// ParseSpec adds the constants of one "ID=[TYPE:]VALUE,..." to m. It scans
// arg in place, without splitting it. A constant given twice (here or
// before, in m) is an error, and so are more than MaxSpecConstants in all.
func ParseSpec(m map[uint32]SpecArg, arg string) error {
	return eachField(arg, ',', func(one string) error {
		ids, vs, ok := strings.Cut(one, "=")
		if !ok || vs == "" {
			return usagef(FieldSpec, "%s: want ID=[TYPE:]VALUE, e.g. 0=u32:256", q(one))
		}
		id, err := strconv.ParseUint(strings.TrimSpace(ids), 10, 32)
		if err != nil {
			return usagef(FieldSpec, "%s: constant ID %s is not a number", q(one), q(ids))
		}
		sa := SpecArg{Value: vs}
		if t, v, ok := strings.Cut(vs, ":"); ok {
			if t != "bool" {
				if _, err := ParseDType(t); err != nil {
					return usagef(FieldSpec, "%s: %v", q(one), err)
				}
			}
			sa = SpecArg{Type: t, Value: v}
		}
		if _, dup := m[uint32(id)]; dup {
			return usagef(FieldSpec, "%s: constant %d given twice", q(one), id)
		}
		if len(m) == MaxSpecConstants {
			return usagef(FieldSpec, "more than %d constants", MaxSpecConstants)
		}
		m[uint32(id)] = sa
		return nil
	})
}

// ParseShape parses the DIMS of an output PATH.npy:DIMS, "512x512": at
// most MaxShapeDims positive dimensions whose product fits a binding.
func ParseShape(s string) ([]int64, error) {
	var shape []int64
	prod := int64(1)
	err := eachField(s, 'x', func(d string) error {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n <= 0 {
			return usagef(FieldOut, "bad shape %s", q(s))
		}
		if len(shape) == MaxShapeDims {
			return usagef(FieldOut, "bad shape %s: more than %d dimensions", q(s), MaxShapeDims)
		}
		if n > MaxBindingBytes/prod {
			return usagef(FieldOut, "bad shape %s: more elements than a binding holds", q(s))
		}
		prod *= n
		shape = append(shape, n)
		return nil
	})
	return shape, err
}

// shapeSuffix matches "path.npy:512x512".
var shapeSuffix = regexp.MustCompile(`^(.*):([0-9]+(?:x[0-9]+)*)$`)
