package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// BindingKind is the kind of a descriptor binding.
type BindingKind int

// Binding kinds vkio supports.
const (
	StorageBuffer BindingKind = iota // a `buffer` block (SSBO)
	UniformBuffer                    // a `uniform` block (UBO)
)

// String names the binding kind.
func (k BindingKind) String() string {
	if k == UniformBuffer {
		return "uniform buffer"
	}
	return "storage buffer"
}

// BindingInfo describes one descriptor binding of a kernel, as reflected
// from its SPIR-V.
type BindingInfo struct {
	Set, Binding uint32
	Kind         BindingKind
	// ReadOnly is true when every member of the block is NonWritable
	// (`readonly` in GLSL).
	ReadOnly bool
	// MinSize is the smallest buffer the block accepts, in bytes: its size,
	// or for a block ending in a runtime array, the offset of that array.
	MinSize int
	// RuntimeArray reports a block that ends in a runtime-sized array.
	RuntimeArray bool
	// Elem is the scalar type of the block's data: for a block ending in a
	// runtime array, the scalar of the array's element (Float32 for vec4[]);
	// otherwise the first scalar of the block's last member. It is
	// ScalarUnknown when the block has no members or its data is not made of
	// integer or floating-point scalars (bools, for instance).
	Elem Scalar
}

// Scalar is the scalar type of a buffer's data (see BindingInfo.Elem).
type Scalar int

// Scalar types. The zero value, ScalarUnknown, means the type could not be
// determined.
const (
	ScalarUnknown Scalar = iota
	Float16
	Float32
	Float64
	Int8
	Uint8
	Int16
	Uint16
	Int32
	Uint32
	Int64
	Uint64
)

var scalarNames = [...]string{"unknown", "float16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"}

// String names the scalar type ("float32", "uint32", ...; "unknown" for
// ScalarUnknown).
func (s Scalar) String() string {
	if s < 0 || int(s) >= len(scalarNames) {
		return fmt.Sprintf("Scalar(%d)", int(s))
	}
	return scalarNames[s]
}

// SpecType is the scalar type of a specialization constant.
type SpecType int

// Specialization constant types.
const (
	SpecBool SpecType = iota
	SpecInt32
	SpecUint32
	SpecFloat32
)

// String names the type.
func (t SpecType) String() string {
	return [...]string{"bool", "int32", "uint32", "float32"}[t]
}

// SpecInfo describes one specialization constant.
type SpecInfo struct {
	ID      uint32
	Type    SpecType
	Default uint32 // raw 32-bit default value (bools: 0 or 1)
}

// Reflection is what vkio reads out of a compute shader's SPIR-V.
type Reflection struct {
	Entry string
	// LocalSize is the workgroup size with default specialization values.
	LocalSize [3]uint32
	// LocalSizeSpec holds, per dimension, the specialization constant ID that
	// sets it, or -1 when the dimension is fixed.
	LocalSizeSpec [3]int
	PushSize      int
	Bindings      []BindingInfo // sorted by set, then binding
	Spec          []SpecInfo    // sorted by ID
	// SharedMemory is the total size in bytes of the module's Workgroup
	// storage-class variables (GLSL `shared`), laid out with their natural
	// sizes and alignments; compared with Limits.MaxSharedMemorySize.
	SharedMemory int
}

// SPIR-V constants used by the parser.
const (
	spvMagic = 0x07230203

	opName                  = 5
	opEntryPoint            = 15
	opExecutionMode         = 16
	opTypeBool              = 20
	opTypeInt               = 21
	opTypeFloat             = 22
	opTypeVector            = 23
	opTypeMatrix            = 24
	opTypeArray             = 28
	opTypeRuntimeArray      = 29
	opTypeStruct            = 30
	opTypePointer           = 32
	opConstantTrue          = 41
	opConstantFalse         = 42
	opConstant              = 43
	opConstantComposite     = 44
	opSpecConstantTrue      = 48
	opSpecConstantFalse     = 49
	opSpecConstant          = 50
	opSpecConstantComposite = 51
	opFunction              = 54
	opFunctionEnd           = 56
	opVariable              = 59
	opDecorate              = 71
	opMemberDecorate        = 72
	execModelGLCompute      = 5
	execModeLocalSize       = 17
	execModeLocalSizeID     = 38
	decSpecID               = 1
	decBlock                = 2
	decBufferBlock          = 3
	decArrayStride          = 6
	decMatrixStride         = 7
	decBuiltIn              = 11
	decNonWritable          = 24
	decBinding              = 33
	decDescriptorSet        = 34
	decOffset               = 35
	builtInWorkgroupSize    = 25
	storageUniformConstant  = 0
	storageUniform          = 2
	storagePushConstant     = 9
	storageStorageBuffer    = 12
)

type spvType struct {
	op      uint32
	width   uint32   // int/float bits
	signed  bool     // int
	elem    uint32   // vector/matrix/array element, pointer pointee
	count   uint32   // vector/matrix count; array length constant id
	members []uint32 // struct
	storage uint32   // pointer storage class
}

type spvConst struct {
	typ   uint32
	value uint32
	spec  bool
	parts []uint32 // composites
}

// Reflect parses a SPIR-V module and returns its compute entry point's
// interface. Malformed or truncated modules, modules without a GLCompute
// entry point, and descriptor kinds vkio does not bind (images, samplers)
// are reported as an *Error wrapping ErrBadSPIRV.
func Reflect(spirv []byte) (*Reflection, error) {
	words, err := spvWords(spirv)
	if err != nil {
		return nil, err
	}
	return reflectWords(words)
}

func badSPIRV(format string, args ...any) error {
	return &Error{Op: "reflect", Detail: fmt.Sprintf(format, args...), Err: ErrBadSPIRV}
}

func spvWords(b []byte) ([]uint32, error) {
	if len(b) < 20 {
		return nil, badSPIRV("module is %d bytes, shorter than the 20-byte header", len(b))
	}
	if len(b)%4 != 0 {
		return nil, badSPIRV("module length %d is not a multiple of 4", len(b))
	}
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	if w[0] != spvMagic {
		return nil, badSPIRV("bad magic number %#08x (want %#08x, little-endian)", w[0], spvMagic)
	}
	return w, nil
}

func spvString(ws []uint32) (string, int) {
	var b []byte
	for i, w := range ws {
		for k := 0; k < 4; k++ {
			c := byte(w >> (8 * k))
			if c == 0 {
				return string(b), i + 1
			}
			b = append(b, c)
		}
	}
	return "", -1
}

func reflectWords(w []uint32) (*Reflection, error) {
	if v := w[1]; v>>24 != 0 || v&0xff != 0 || (v>>16)&0xff != 1 || (v>>8)&0xff > 6 {
		return nil, badSPIRV("unsupported SPIR-V version word %#08x", v)
	}
	bound := w[3]
	if bound == 0 || bound > 1<<22 {
		return nil, badSPIRV("implausible id bound %d", bound)
	}
	functions := map[uint32]bool{}
	inFunction := false
	var lastOp uint32
	types := map[uint32]*spvType{}
	consts := map[uint32]*spvConst{}
	decos := map[uint32]map[uint32][]uint32{}           // id -> decoration -> operands
	mdecos := map[uint32]map[uint32]map[uint32]uint32{} // struct -> member -> decoration -> first operand
	type variable struct{ ptrType, storage uint32 }
	vars := map[uint32]variable{}
	var varOrder []uint32
	r := &Reflection{LocalSizeSpec: [3]int{-1, -1, -1}}
	var entryID uint32
	haveEntry := false
	var localSize [3]uint32
	var localSizeIDs []uint32

	deco := func(id, d uint32, ops []uint32) {
		if decos[id] == nil {
			decos[id] = map[uint32][]uint32{}
		}
		decos[id][d] = ops
	}
	for i := 5; i < len(w); {
		n := int(w[i] >> 16)
		op := w[i] & 0xffff
		if n == 0 {
			return nil, badSPIRV("instruction at word %d has word count 0", i)
		}
		if i+n > len(w) {
			return nil, badSPIRV("truncated: instruction at word %d (opcode %d) needs %d words, %d left", i, op, n, len(w)-i)
		}
		a := w[i+1 : i+n]
		need := func(k int) error {
			if len(a) < k {
				return badSPIRV("opcode %d at word %d has %d operands, needs %d", op, i, len(a), k)
			}
			return nil
		}
		checkID := func(ids ...uint32) error {
			for _, id := range ids {
				if id == 0 || id >= bound {
					return badSPIRV("id %d out of range (bound %d) at word %d", id, bound, i)
				}
			}
			return nil
		}
		var err error
		lastOp = op
		switch op {
		case opFunction:
			if inFunction {
				return nil, badSPIRV("OpFunction at word %d inside another function", i)
			}
			if err = need(4); err == nil {
				inFunction = true
				functions[a[1]] = true
			}
		case opFunctionEnd:
			if !inFunction {
				return nil, badSPIRV("OpFunctionEnd at word %d outside a function", i)
			}
			inFunction = false
		case opEntryPoint:
			if err = need(3); err == nil && a[0] == execModelGLCompute && !haveEntry {
				name, used := spvString(a[2:])
				if used < 0 {
					return nil, badSPIRV("unterminated entry point name at word %d", i)
				}
				entryID, r.Entry, haveEntry = a[1], name, true
			}
		case opExecutionMode:
			if err = need(2); err != nil {
				break
			}
			if haveEntry && a[0] == entryID {
				switch a[1] {
				case execModeLocalSize:
					if err = need(5); err == nil {
						copy(localSize[:], a[2:5])
					}
				case execModeLocalSizeID:
					if err = need(5); err == nil {
						localSizeIDs = append([]uint32(nil), a[2:5]...)
					}
				}
			}
		case opDecorate:
			if err = need(2); err == nil {
				deco(a[0], a[1], a[2:])
			}
		case opMemberDecorate:
			if err = need(3); err == nil {
				s, m := a[0], a[1]
				if mdecos[s] == nil {
					mdecos[s] = map[uint32]map[uint32]uint32{}
				}
				if mdecos[s][m] == nil {
					mdecos[s][m] = map[uint32]uint32{}
				}
				v := uint32(0)
				if len(a) > 3 {
					v = a[3]
				}
				mdecos[s][m][a[2]] = v
			}
		case opTypeBool:
			if err = need(1); err == nil {
				types[a[0]] = &spvType{op: op, width: 32}
			}
		case opTypeInt:
			if err = need(3); err == nil {
				types[a[0]] = &spvType{op: op, width: a[1], signed: a[2] != 0}
			}
		case opTypeFloat:
			if err = need(2); err == nil {
				types[a[0]] = &spvType{op: op, width: a[1]}
			}
		case opTypeVector, opTypeMatrix, opTypeArray:
			if err = need(3); err == nil {
				types[a[0]] = &spvType{op: op, elem: a[1], count: a[2]}
			}
		case opTypeRuntimeArray:
			if err = need(2); err == nil {
				types[a[0]] = &spvType{op: op, elem: a[1]}
			}
		case opTypeStruct:
			if err = need(1); err == nil {
				types[a[0]] = &spvType{op: op, members: append([]uint32(nil), a[1:]...)}
			}
		case opTypePointer:
			if err = need(3); err == nil {
				types[a[0]] = &spvType{op: op, storage: a[1], elem: a[2]}
			}
		case opConstant, opSpecConstant:
			if err = need(3); err == nil {
				consts[a[1]] = &spvConst{typ: a[0], value: a[2], spec: op == opSpecConstant}
			}
		case opConstantTrue, opConstantFalse, opSpecConstantTrue, opSpecConstantFalse:
			if err = need(2); err == nil {
				v := uint32(0)
				if op == opConstantTrue || op == opSpecConstantTrue {
					v = 1
				}
				consts[a[1]] = &spvConst{typ: a[0], value: v, spec: op >= opSpecConstantTrue}
			}
		case opConstantComposite, opSpecConstantComposite:
			if err = need(2); err == nil {
				consts[a[1]] = &spvConst{typ: a[0], parts: append([]uint32(nil), a[2:]...), spec: op == opSpecConstantComposite}
			}
		case opVariable:
			if err = need(3); err == nil {
				if err = checkID(a[0], a[1]); err == nil {
					vars[a[1]] = variable{ptrType: a[0], storage: a[2]}
					varOrder = append(varOrder, a[1])
				}
			}
		}
		if err != nil {
			return nil, err
		}
		i += n
	}
	if !haveEntry {
		return nil, badSPIRV("no GLCompute entry point")
	}
	if inFunction || lastOp != opFunctionEnd {
		return nil, badSPIRV("truncated: the module does not end with a complete function")
	}
	if !functions[entryID] {
		return nil, badSPIRV("entry point %q names function %d, which the module does not define", r.Entry, entryID)
	}

	// Specialization constants.
	specOf := map[uint32]uint32{} // constant result id -> SpecId
	for id, c := range consts {
		if !c.spec || c.parts != nil {
			continue
		}
		d, ok := decos[id][decSpecID]
		if !ok || len(d) < 1 {
			continue
		}
		t := types[c.typ]
		if t == nil {
			return nil, badSPIRV("specialization constant %d has unknown type %d", id, c.typ)
		}
		si := SpecInfo{ID: d[0], Default: c.value}
		switch {
		case t.op == opTypeBool:
			si.Type = SpecBool
		case t.op == opTypeInt && t.width == 32 && t.signed:
			si.Type = SpecInt32
		case t.op == opTypeInt && t.width == 32:
			si.Type = SpecUint32
		case t.op == opTypeFloat && t.width == 32:
			si.Type = SpecFloat32
		default:
			return nil, badSPIRV("specialization constant %d: only 32-bit scalars and bools are supported", d[0])
		}
		specOf[id] = d[0]
		r.Spec = append(r.Spec, si)
	}
	sort.Slice(r.Spec, func(i, j int) bool { return r.Spec[i].ID < r.Spec[j].ID })

	// Local size: a WorkgroupSize built-in overrides the execution mode.
	r.LocalSize = localSize
	dim := func(k int, id uint32) error {
		c := consts[id]
		if c == nil || c.parts != nil {
			return badSPIRV("local size %d refers to id %d, not a scalar constant", k, id)
		}
		r.LocalSize[k] = c.value
		if sid, ok := specOf[id]; ok {
			r.LocalSizeSpec[k] = int(sid)
		}
		return nil
	}
	if localSizeIDs != nil {
		for k, id := range localSizeIDs {
			if err := dim(k, id); err != nil {
				return nil, err
			}
		}
	}
	for id, c := range consts {
		if d, ok := decos[id][decBuiltIn]; ok && len(d) > 0 && d[0] == builtInWorkgroupSize {
			if len(c.parts) != 3 {
				return nil, badSPIRV("WorkgroupSize built-in is not a 3-component composite")
			}
			for k, pid := range c.parts {
				if err := dim(k, pid); err != nil {
					return nil, err
				}
			}
		}
	}
	for k, v := range r.LocalSize {
		if v == 0 {
			return nil, badSPIRV("local size %v has a zero dimension %d", r.LocalSize, k)
		}
	}

	// Sizes of types, for push constants and buffer minimum sizes.
	var sizeOf func(id uint32, depth int) (int, bool, error)
	sizeOf = func(id uint32, depth int) (size int, runtime bool, err error) {
		if depth > 32 {
			return 0, false, badSPIRV("type %d nests too deeply", id)
		}
		t := types[id]
		if t == nil {
			return 0, false, badSPIRV("unknown type id %d", id)
		}
		switch t.op {
		case opTypeBool:
			return 4, false, nil
		case opTypeInt, opTypeFloat:
			return int(t.width / 8), false, nil
		case opTypeVector:
			es, _, err := sizeOf(t.elem, depth+1)
			return es * int(t.count), false, err
		case opTypeMatrix:
			cs, _, err := sizeOf(t.elem, depth+1)
			return cs * int(t.count), false, err
		case opTypeArray:
			c := consts[t.count]
			if c == nil {
				return 0, false, badSPIRV("array type %d has unknown length id %d", id, t.count)
			}
			stride := 0
			if d, ok := decos[id][decArrayStride]; ok && len(d) > 0 {
				stride = int(d[0])
			} else {
				es, _, err := sizeOf(t.elem, depth+1)
				if err != nil {
					return 0, false, err
				}
				stride = es
			}
			return stride * int(c.value), false, nil
		case opTypeRuntimeArray:
			return 0, true, nil
		case opTypeStruct:
			end := 0
			for m, mt := range t.members {
				off := 0
				if md := mdecos[id][uint32(m)]; md != nil {
					off = int(md[decOffset])
				}
				ms, rt, err := sizeOf(mt, depth+1)
				if err != nil {
					return 0, false, err
				}
				if rt {
					if m != len(t.members)-1 {
						return 0, false, badSPIRV("runtime array is not the last member of struct %d", id)
					}
					return off, true, nil
				}
				if off+ms > end {
					end = off + ms
				}
			}
			return end, false, nil
		}
		return 0, false, badSPIRV("type %d (opcode %d) has no size", id, t.op)
	}

	for _, id := range varOrder {
		v := vars[id]
		pt := types[v.ptrType]
		if pt == nil || pt.op != opTypePointer {
			return nil, badSPIRV("variable %d has non-pointer type %d", id, v.ptrType)
		}
		switch v.storage {
		case storagePushConstant:
			size, _, err := sizeOf(pt.elem, 0)
			if err != nil {
				return nil, err
			}
			r.PushSize = size
		case storageUniform, storageStorageBuffer, storageUniformConstant:
			set, okSet := decos[id][decDescriptorSet]
			bnd, okBnd := decos[id][decBinding]
			if !okSet || !okBnd || len(set) == 0 || len(bnd) == 0 {
				if v.storage == storageUniformConstant {
					continue
				}
				return nil, badSPIRV("resource variable %d lacks DescriptorSet/Binding decorations", id)
			}
			bi := BindingInfo{Set: set[0], Binding: bnd[0]}
			st := pt.elem
			if t := types[st]; t != nil && (t.op == opTypeArray || t.op == opTypeRuntimeArray) {
				return nil, badSPIRV("binding %d.%d: arrays of descriptors are not supported", bi.Set, bi.Binding)
			}
			t := types[st]
			if t == nil || t.op != opTypeStruct || v.storage == storageUniformConstant {
				return nil, badSPIRV("binding %d.%d: only buffer blocks are supported (images and samplers are not)", bi.Set, bi.Binding)
			}
			_, bufferBlock := decos[st][decBufferBlock]
			if v.storage == storageStorageBuffer || bufferBlock {
				bi.Kind = StorageBuffer
			} else {
				bi.Kind = UniformBuffer
			}
			bi.ReadOnly = len(t.members) > 0
			for m := range t.members {
				md := mdecos[st][uint32(m)]
				if md == nil {
					bi.ReadOnly = false
					break
				}
				if _, ok := md[decNonWritable]; !ok {
					bi.ReadOnly = false
					break
				}
			}
			if bi.Kind == UniformBuffer {
				bi.ReadOnly = true
			}
			size, rt, err := sizeOf(st, 0)
			if err != nil {
				return nil, err
			}
			bi.MinSize, bi.RuntimeArray = size, rt
			bi.Elem = blockElem(types, t)
			r.Bindings = append(r.Bindings, bi)
		}
	}
	sort.Slice(r.Bindings, func(i, j int) bool {
		if r.Bindings[i].Set != r.Bindings[j].Set {
			return r.Bindings[i].Set < r.Bindings[j].Set
		}
		return r.Bindings[i].Binding < r.Bindings[j].Binding
	})
	for i := 1; i < len(r.Bindings); i++ {
		if r.Bindings[i].Set == r.Bindings[i-1].Set && r.Bindings[i].Binding == r.Bindings[i-1].Binding {
			return nil, badSPIRV("binding %d.%d is declared twice", r.Bindings[i].Set, r.Bindings[i].Binding)
		}
	}
	return r, nil
}

// blockElem finds the scalar type of a buffer block's data from the type
// table: the block's last member (for a runtime array, its element), then
// that type's first scalar.
func blockElem(types map[uint32]*spvType, block *spvType) Scalar {
	if len(block.members) == 0 {
		return ScalarUnknown
	}
	id := block.members[len(block.members)-1]
	if t := types[id]; t != nil && t.op == opTypeRuntimeArray {
		id = t.elem
	}
	for depth := 0; depth <= 32; depth++ {
		t := types[id]
		if t == nil {
			return ScalarUnknown
		}
		switch t.op {
		case opTypeFloat:
			switch t.width {
			case 16:
				return Float16
			case 32:
				return Float32
			case 64:
				return Float64
			}
			return ScalarUnknown
		case opTypeInt:
			k := map[uint32]Scalar{8: Int8, 16: Int16, 32: Int32, 64: Int64}[t.width]
			if k == ScalarUnknown {
				return ScalarUnknown
			}
			if !t.signed {
				k++ // each UintN follows its IntN
			}
			return k
		case opTypeVector, opTypeMatrix, opTypeArray, opTypeRuntimeArray:
			id = t.elem
		case opTypeStruct:
			if len(t.members) == 0 {
				return ScalarUnknown
			}
			id = t.members[0]
		default:
			return ScalarUnknown
		}
	}
	return ScalarUnknown
}

// specValue converts a Go value to a specialization constant's raw bits.
func specValue(t SpecType, v any) (uint32, bool) {
	switch t {
	case SpecBool:
		if b, ok := v.(bool); ok {
			if b {
				return 1, true
			}
			return 0, true
		}
	case SpecFloat32:
		switch f := v.(type) {
		case float32:
			return math.Float32bits(f), true
		case float64:
			return math.Float32bits(float32(f)), true
		}
	case SpecInt32, SpecUint32:
		var x int64
		switch n := v.(type) {
		case int:
			x = int64(n)
		case int32:
			x = int64(n)
		case uint32:
			x = int64(n)
		case int64:
			x = n
		case uint:
			if uint64(n) > math.MaxUint32 {
				return 0, false
			}
			x = int64(n)
		default:
			return 0, false
		}
		if t == SpecInt32 && (x < math.MinInt32 || x > math.MaxInt32) {
			return 0, false
		}
		if t == SpecUint32 && (x < 0 || x > math.MaxUint32) {
			return 0, false
		}
		return uint32(x), true
	}
	return 0, false
}
