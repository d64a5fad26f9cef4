package job

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vkio/vkio/npy"
)

// Shader is what a job needs to know of its shader: its set-0 bindings,
// push-constant size, local size and specialization constants, as a
// reflection of its SPIR-V reports them (gpu.Reflect).
type Shader struct {
	// Name names the shader in messages (a path, a built-in's name).
	Name     string
	Bindings []BindingInfo
	PushSize int
	// LocalSize is the declared local size; LocalSizeSpec[i] is the ID of
	// the constant that sets dimension i, or -1.
	LocalSize     [3]uint32
	LocalSizeSpec [3]int
	Spec          []SpecConst
}

// BindingInfo is one buffer binding of set 0.
type BindingInfo struct {
	Binding uint32
	// Uniform is true for a uniform block, false for a storage buffer.
	Uniform bool
	// ReadOnly is true when the shader never writes the binding.
	ReadOnly bool
	// MinSize is the smallest buffer the block accepts, in bytes.
	MinSize int
	// RuntimeArray reports a block ending in a runtime-sized array.
	RuntimeArray bool
	// Elem is the element type of the block's data; HasElem is false when
	// it has none the package knows (F32 is then assumed).
	Elem    DType
	HasElem bool
}

// SpecType is the type of a specialization constant.
type SpecType int

// Specialization constant types.
const (
	SpecBool SpecType = iota
	SpecInt32
	SpecUint32
	SpecFloat32
)

// String names the type as the shader declares it: bool, int32.
func (t SpecType) String() string {
	switch t {
	case SpecBool:
		return "bool"
	case SpecInt32:
		return "int32"
	case SpecUint32:
		return "uint32"
	}
	return "float32"
}

// SpecConst is one specialization constant of the shader.
type SpecConst struct {
	ID   uint32
	Type SpecType
}

// Binding is one buffer of a resolved job: its binding, element type, the
// source it was filled from (for summaries), its contents and where it is
// saved (nil: nowhere).
type Binding struct {
	Info   BindingInfo
	Type   DType
	Source string
	Data   []byte
	Save   *Save
}

// Elems returns the binding's element count.
func (b *Binding) Elems() int { return len(b.Data) / b.Type.Size() }

// Resolved is a job made ready for its shader: specialization constants
// as the GPU takes them (bool, int32, uint32 or float32 by ID), packed
// push constants and filled bindings, in the shader's order.
type Resolved struct {
	Spec     map[uint32]any
	Push     []byte
	Bindings []*Binding
}

// ReadFunc reads a file source's bytes (a caller's Io, confinement and
// caps: at most MaxBindFile bytes).
type ReadFunc func(path string) ([]byte, error)

// bindingType is the element type of binding bi in j: the job's override,
// else the shader's, else F32.
func (j *Job) bindingType(bi BindingInfo) DType {
	if t, ok := j.Types[bi.Binding]; ok {
		return t
	}
	if bi.HasElem {
		return bi.Elem
	}
	return F32
}

// defaultSize is the size of bindings given without one.
func (j *Job) defaultSize(sh *Shader) *Size {
	if j.Size != nil {
		return j.Size
	}
	for _, bi := range sh.Bindings {
		if s, ok := j.Bind[bi.Binding]; ok && s.Size != nil {
			return s.Size
		}
	}
	return nil
}

// Resolve checks j against sh and fills its bindings: every binding,
// constant and output j names must be the shader's, the push constants its
// size, each binding's size a whole number of elements that fits the
// shader's block and at most MaxBindingBytes. read reads file sources (nil:
// file sources are refused). Errors are *Error worded by names.
func (j *Job) Resolve(sh *Shader, read ReadFunc, names Namer) (*Resolved, error) {
	n := names.name
	have := map[uint32]BindingInfo{}
	var nums []string
	for _, bi := range sh.Bindings {
		have[bi.Binding] = bi
		nums = append(nums, strconv.Itoa(int(bi.Binding)))
	}
	shaderHas := "the shader has none"
	if len(nums) > 0 {
		shaderHas = "the shader has " + strings.Join(nums, ", ")
	}
	for _, m := range []struct {
		field Field
		ids   []uint32
	}{{FieldBind, sortedKeys(j.Bind)}, {FieldOut, sortedKeys(j.Saves)}, {FieldTypes, sortedKeys(j.Types)}} {
		for _, id := range m.ids {
			if _, ok := have[id]; !ok {
				return nil, usagef(m.field, "%s: %s has no binding %d (%s)", n(m.field), sh.Name, id, shaderHas)
			}
		}
	}
	r := &Resolved{Spec: map[uint32]any{}}
	for _, id := range sortedKeys(j.Spec) {
		sa := j.Spec[id]
		var si *SpecConst
		for i := range sh.Spec {
			if sh.Spec[i].ID == id {
				si = &sh.Spec[i]
			}
		}
		if si == nil {
			var ids []string
			for _, s := range sh.Spec {
				ids = append(ids, fmt.Sprintf("%d (%s)", s.ID, s.Type))
			}
			has := "none"
			if len(ids) > 0 {
				has = strings.Join(ids, ", ")
			}
			return nil, usagef(FieldSpec, "%s %d: %s has no specialization constant %d (it has %s)", n(FieldSpec), id, sh.Name, id, has)
		}
		v, err := SpecValue(*si, sa)
		if err != nil {
			return nil, usagef(FieldSpec, "%s %d=%s: %v", n(FieldSpec), id, Clip(sa.Value), err)
		}
		r.Spec[id] = v
	}
	for _, v := range j.Push {
		r.Push = v.AppendLE(r.Push)
	}
	if len(r.Push) != sh.PushSize {
		switch {
		case sh.PushSize == 0:
			return nil, usagef(FieldPush, "%s: %s has no push constants, but %s gives %d bytes", n(FieldPush), sh.Name, n(FieldPush), len(r.Push))
		case !j.PushGiven:
			return nil, usagef(FieldPush, "%s has %d bytes of push constants: give them with %s %s (e.g. f32:2.5,u32:7)", sh.Name, sh.PushSize, n(FieldPush), n(FieldPushSyntax))
		default:
			return nil, usagef(FieldPush, "%s gives %d bytes, but %s has %d bytes of push constants", n(FieldPush), len(r.Push), sh.Name, sh.PushSize)
		}
	}
	for _, bi := range sh.Bindings {
		b := &Binding{Info: bi, Type: j.bindingType(bi)}
		if o, ok := j.Saves[bi.Binding]; ok {
			b.Save = &o
		} else if j.SaveDir != "" && !bi.ReadOnly {
			b.Save = &Save{Path: filepath.Join(j.SaveDir, fmt.Sprintf("binding%d.npy", bi.Binding))}
		}
		r.Bindings = append(r.Bindings, b)
	}
	// Two outputs to one file: one would silently overwrite the other.
	outFiles := map[string]uint32{}
	for _, b := range r.Bindings {
		if b.Save == nil {
			continue
		}
		clean := filepath.Clean(b.Save.Path)
		if other, dup := outFiles[clean]; dup {
			return nil, usagef(FieldOut, "%s/%s: bindings %d and %d both go to %s: one would overwrite the other", n(FieldOut), n(FieldOutDir), other, b.Info.Binding, q(b.Save.Path))
		}
		outFiles[clean] = b.Info.Binding
	}
	defSize := j.defaultSize(sh)
	for _, b := range r.Bindings {
		src, given := j.Bind[b.Info.Binding]
		if !given {
			src = Source{Text: "zeros", Kind: Zeros}
		}
		b.Source = src.Text
		switch src.Kind {
		case File:
			if read == nil {
				return nil, usagef(FieldBind, "%s %d=%s: file sources are not read here", n(FieldBind), b.Info.Binding, src.Text)
			}
			data, err := readFile(read, src.Path, b.Type, names)
			if err != nil {
				return nil, dataf(FieldBind, "%s %d=%s: %v", n(FieldBind), b.Info.Binding, src.Text, err)
			}
			if err := checkSize(b, int64(len(data)), "file "+src.Path); err != nil {
				return nil, err
			}
			b.Data = data
			continue
		case Data:
			if err := checkSize(b, int64(len(src.Data)), src.Text); err != nil {
				return nil, err
			}
			b.Data = src.Data
			continue
		}
		sz := src.Size
		if sz == nil {
			sz = defSize
		}
		var nbytes int64
		es := int64(b.Type.Size())
		if sz == nil {
			if b.Info.RuntimeArray || b.Info.MinSize == 0 {
				return nil, usagef(FieldSize, "binding %d: no size: give one (%s %d=%s:1M), or %s", b.Info.Binding, n(FieldBind), b.Info.Binding, src.Kind, n(FieldSize))
			}
			nbytes = int64(b.Info.MinSize)
			nbytes += (es - nbytes%es) % es
		} else {
			var err error
			if nbytes, err = sz.Bytes(b.Type); err != nil {
				return nil, dataf(FieldSize, "binding %d (%s): %v", b.Info.Binding, b.Type, err)
			}
		}
		what := "the block size"
		if sz != nil {
			what = "size " + sz.String()
		}
		if err := checkSize(b, nbytes, what); err != nil {
			return nil, err
		}
		data, err := src.Generate(b.Type, nbytes, j.Seed, b.Info.Binding)
		if err != nil {
			return nil, usagef(FieldBind, "%s %d=%s: %v", n(FieldBind), b.Info.Binding, src.Text, err)
		}
		b.Data = data
	}
	if j.Groups == nil && j.Grid == nil {
		if err := sameLength(r.Bindings, names); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// readFile reads a file source: raw bytes, or a .npy file's data, which
// must have the binding's element type.
func readFile(read ReadFunc, path string, t DType, names Namer) ([]byte, error) {
	data, err := read(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte(npy.Magic)) {
		return data, nil
	}
	a, err := npy.Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if at, _ := DTypeOfNpy(a.Descr); at != t {
		return nil, fmt.Errorf("%s holds %s values, but the binding holds %s (%s); use %s to change the binding's type", path, a.Descr, t, t.NpyDescr(), names.name(FieldTypes))
	}
	return a.Data, nil
}

// DecodeUpload turns bytes uploaded for binding b of type t into the
// binding's data: a .npy file's data (which must have type t), or the
// bytes as they are. name names the upload in messages ("part binding0").
func DecodeUpload(name string, b uint32, t DType, data []byte, names Namer) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte(npy.Magic)) {
		return data, nil
	}
	a, err := npy.Read(data)
	if err != nil {
		return nil, dataf(FieldBind, "%s: %v", name, err)
	}
	if at, _ := DTypeOfNpy(a.Descr); at != t {
		return nil, usagef(FieldTypes, "%s holds %s values, but binding %d holds %s (%s); set %s", name, a.Descr, b, t, t.NpyDescr(), strconv.Quote(names.name(FieldTypes)))
	}
	return a.Data, nil
}

// checkSize checks that nbytes of data fit binding b.
func checkSize(b *Binding, nbytes int64, what string) error {
	es := int64(b.Type.Size())
	switch {
	case nbytes == 0:
		return dataf(FieldBind, "binding %d: %s is empty", b.Info.Binding, what)
	case nbytes%es != 0:
		return dataf(FieldBind, "binding %d: %s has %d bytes, not a whole number of %s elements (%d bytes each)", b.Info.Binding, what, nbytes, b.Type, es)
	case nbytes < int64(b.Info.MinSize):
		return dataf(FieldBind, "binding %d: %s has %d bytes, smaller than the shader's block (%d bytes)", b.Info.Binding, what, nbytes, b.Info.MinSize)
	case nbytes > math.MaxInt32:
		return dataf(FieldBind, "binding %d: %s has %d bytes, more than a binding holds (2 GiB)", b.Info.Binding, what, nbytes)
	}
	return nil
}

// sameLength checks that the runtime arrays of bs hold the same number of
// elements, as the automatic 1-D grid (one invocation per element) assumes.
func sameLength(bs []*Binding, names Namer) error {
	var first *Binding
	for _, b := range bs {
		if !b.Info.RuntimeArray {
			continue
		}
		if first == nil {
			first = b
			continue
		}
		n0, n := first.Elems(), b.Elems()
		if n != n0 {
			return dataf(FieldSize, "binding sizes do not match: binding %d has %d %s elements (%s), binding %d has %d (%s); give them the same size, or set %s or %s to dispatch over different sizes",
				first.Info.Binding, n0, first.Type, first.Source, b.Info.Binding, n, b.Source, names.name(FieldGroups), names.name(FieldGrid))
		}
	}
	return nil
}

// SpecValue converts a specialization constant's value to the Go type the
// GPU takes for its type in the shader (bool, int32, uint32, float32).
func SpecValue(si SpecConst, sa SpecArg) (any, error) {
	want := map[SpecType]string{SpecBool: "bool", SpecInt32: "i32", SpecUint32: "u32", SpecFloat32: "f32"}[si.Type]
	if sa.Type != "" {
		t := sa.Type
		if t != "bool" {
			dt, _ := ParseDType(t)
			t = dt.String()
		}
		if t != want {
			return nil, fmt.Errorf("constant %d is %s in the shader, not %s", si.ID, want, sa.Type)
		}
	}
	switch si.Type {
	case SpecBool:
		b, err := strconv.ParseBool(sa.Value)
		if err != nil {
			return nil, fmt.Errorf("%s is not a bool (true, false, 1, 0)", q(sa.Value))
		}
		return b, nil
	case SpecInt32:
		v, err := ParseValue(I32, sa.Value)
		return int32(v.I), err
	case SpecUint32:
		v, err := ParseValue(U32, sa.Value)
		return uint32(v.U), err
	default:
		v, err := ParseValue(F32, sa.Value)
		return float32(v.F), err
	}
}

// LocalSize is the local size sh runs j with: the declared one, with the
// dimensions set by constants that j gives taken from them.
func (j *Job) LocalSize(sh *Shader, names Namer) ([3]uint32, error) {
	local := sh.LocalSize
	for dim, sid := range sh.LocalSizeSpec {
		if sid < 0 {
			continue
		}
		sa, given := j.Spec[uint32(sid)]
		if !given {
			continue
		}
		for _, si := range sh.Spec {
			if si.ID != uint32(sid) {
				continue
			}
			v, err := SpecValue(si, sa)
			if err != nil {
				return local, usagef(FieldSpec, "%s %d=%s: %v", names.name(FieldSpec), sid, Clip(sa.Value), err)
			}
			switch v := v.(type) {
			case uint32:
				local[dim] = v
			case int32:
				local[dim] = uint32(v)
			}
		}
	}
	return local, nil
}

// BindingSize is the size of one binding of a job, known before its data
// is made.
type BindingSize struct {
	Info  BindingInfo
	Type  DType
	Bytes int64
}

// Sizes works out the size of each of the job's bindings as Resolve will
// make them, without making them (a server bounds a job's memory with
// them). An uploaded or generated binding has its size; a file source, or
// a binding with no size, the shader's block size.
func (j *Job) Sizes(sh *Shader) []BindingSize {
	def := j.defaultSize(sh)
	var out []BindingSize
	for _, bi := range sh.Bindings {
		t := j.bindingType(bi)
		sz := def
		if bs, ok := j.Bind[bi.Binding]; ok && bs.Size != nil {
			sz = bs.Size
		}
		n := int64(bi.MinSize)
		if sz != nil {
			n = sz.N // at most MaxSize: no overflow below
			if !sz.InBytes {
				n *= int64(t.Size())
			}
		}
		out = append(out, BindingSize{Info: bi, Type: t, Bytes: n})
	}
	return out
}

// Count is the number of elements of a binding.
type Count struct {
	Binding uint32
	Elems   int64
}

// Counts returns the element counts of resolved bindings.
func Counts(bs []*Binding) []Count {
	out := make([]Count, len(bs))
	for i, b := range bs {
		out[i] = Count{Binding: b.Info.Binding, Elems: int64(b.Elems())}
	}
	return out
}

// Workgroups decides the dispatch size from the job, the local size and
// the bindings' element counts: Groups, or ceil(grid / local size) for
// Grid or, by default, one invocation per element of the largest binding.
// how says which, worded by names.
func (j *Job) Workgroups(local [3]uint32, counts []Count, names Namer) (groups [3]uint32, how string) {
	if j.Groups != nil {
		return *j.Groups, names.name(FieldGroups)
	}
	grid := [3]uint32{1, 1, 1}
	how = names.name(FieldGrid)
	if j.Grid != nil {
		grid = *j.Grid
	} else {
		var best *Count
		for i := range counts {
			if best == nil || counts[i].Elems > best.Elems {
				best = &counts[i]
			}
		}
		if best != nil {
			grid[0] = uint32(min(best.Elems, math.MaxUint32))
			how = fmt.Sprintf("one invocation per element of binding %d", best.Binding)
		}
	}
	for i := range groups {
		groups[i] = uint32((uint64(grid[i]) + uint64(max(local[i], 1)) - 1) / uint64(max(local[i], 1)))
	}
	return groups, how
}

// sortedKeys returns m's keys in increasing order.
func sortedKeys[V any](m map[uint32]V) []uint32 {
	ks := make([]uint32, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
