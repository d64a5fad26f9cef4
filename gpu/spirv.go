package gpu

import (
	"context"
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

// Limits of the reflector. Reflection does work and allocates memory in
// proportion to the module's length: every type is sized once, from the
// sizes of the types it is made of, which SPIR-V declares before it.
const (
	// MaxReflectTypeSize is the largest size in bytes that Reflect accepts
	// for a type, a push-constant block, a buffer block's fixed part or the
	// module's shared memory; larger (or overflowing) sizes are ErrBadSPIRV.
	MaxReflectTypeSize = math.MaxInt32
	// maxIDBound caps the header's id bound; maxIDsPerWord caps it relative
	// to the module's length (a result id takes at least two words; the
	// slack allows ids left unused by optimizers).
	maxIDBound    = 1 << 22
	maxIDsPerWord = 16
	idSlack       = 4096
	// ctxEvery is how many steps pass between checks of the context.
	ctxEvery = 4096
)

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
	opSpecConstantOp        = 52
	opFunction              = 54
	opFunctionEnd           = 56
	opVariable              = 59
	opDecorate              = 71
	opMemberDecorate        = 72
	opExecutionModeID       = 331
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
	storageWorkgroup        = 4
	storagePushConstant     = 9
	storageStorageBuffer    = 12
)

// opNames names the opcodes that appear in error messages.
var opNames = map[uint32]string{
	opName: "OpName", opEntryPoint: "OpEntryPoint", opExecutionMode: "OpExecutionMode",
	opTypeBool: "OpTypeBool", opTypeInt: "OpTypeInt", opTypeFloat: "OpTypeFloat",
	opTypeVector: "OpTypeVector", opTypeMatrix: "OpTypeMatrix", opTypeArray: "OpTypeArray",
	opTypeRuntimeArray: "OpTypeRuntimeArray", opTypeStruct: "OpTypeStruct", opTypePointer: "OpTypePointer",
	opConstantTrue: "OpConstantTrue", opConstantFalse: "OpConstantFalse", opConstant: "OpConstant",
	opConstantComposite: "OpConstantComposite", opSpecConstantTrue: "OpSpecConstantTrue",
	opSpecConstantFalse: "OpSpecConstantFalse", opSpecConstant: "OpSpecConstant",
	opSpecConstantComposite: "OpSpecConstantComposite", opSpecConstantOp: "OpSpecConstantOp",
	opFunction: "OpFunction", opFunctionEnd: "OpFunctionEnd", opVariable: "OpVariable",
	opDecorate: "OpDecorate", opMemberDecorate: "OpMemberDecorate", opExecutionModeID: "OpExecutionModeId",
}

// opcodeName names a SPIR-V opcode ("OpTypeArray"), or gives its number.
func opcodeName(op uint32) string {
	if s, ok := opNames[op]; ok {
		return s
	}
	return fmt.Sprintf("opcode %d", op)
}

// spvType is a type instruction's operands.
type spvType struct {
	op      uint32
	width   uint32   // int/float bits
	signed  bool     // int
	elem    uint32   // vector/matrix/array element, pointer pointee
	count   uint32   // vector/matrix count; array length constant id
	members []uint32 // struct
	storage uint32   // pointer storage class
}

// Kinds of defined ids the reflector records.
const (
	recType = iota + 1
	recConst
	recVar
	recFunc
)

// Flags of decorations an id carries (with an operand, where they take one).
const (
	hasSpecID = 1 << iota
	hasArrayStride
	hasBuiltIn
	hasBinding
	hasSet
	hasBufferBlock
)

// rec is one id defined by a type, constant, variable or function
// instruction, with its decorations and, for a type, its layout.
type rec struct {
	kind uint8
	op   uint32 // the defining instruction's opcode
	at   int    // and its word offset
	id   uint32
	t    spvType // types; a variable's pointer type is t.elem, its storage class t.storage

	// Constants. known: value holds a scalar value (for OpSpecConstantOp, one
	// vkio evaluated with default specialization values).
	typ       uint32
	value     uint32
	known     bool
	spec      bool
	composite bool

	// Decorations.
	decos                                 uint8
	specID, stride, builtIn, binding, set uint32

	// Layout of a type. size is the explicit layout (Offset and ArrayStride
	// decorations; for a block ending in a runtime array, that array's
	// offset); natSize and natAlign the natural one (Workgroup memory). bad
	// and natBad, when not zero, are 1 + the index of the record whose
	// instruction makes the size unknown or absurd; reflector.whys says how.
	size, natSize, natAlign int64
	runtime                 bool
	bad, natBad             int32
	mbase                   int // structs: index of member 0 in the member tables
}

type decoration struct{ id, dec, val, n uint32 }

type memberDecoration struct{ id, member, dec, val uint32 }

// reflector holds the tables of one reflection.
type reflector struct {
	ctx       context.Context
	w         []uint32
	bound     uint32
	slot      []int32 // id -> 1 + index in recs, 0 when undefined
	recs      []rec
	decos     []decoration
	mdecos    []memberDecoration
	vars      []int32          // indexes in recs of the variables, in order
	nmem      int              // members of all structs
	moff      []int64          // per struct member: Offset decoration
	mnw       []bool           // per struct member: NonWritable
	whys      map[int32]string // why a type has no size: by bad, or by -natBad
	steps     int              // work done: instructions, records, members, ...
	nextCheck int              // steps at which tick checks the context next
}

// Reflect parses a SPIR-V module and returns its compute entry point's
// interface. Malformed or truncated modules, modules without a GLCompute
// entry point, and descriptor kinds vkio does not bind (images, samplers)
// are reported as an *Error wrapping ErrBadSPIRV. It is ReflectContext
// without a deadline; its work is linear in the module's length.
func Reflect(spirv []byte) (*Reflection, error) {
	return ReflectContext(context.Background(), spirv)
}

// ReflectContext is Reflect that stops early when ctx is done, returning an
// *Error whose Err is ctx.Err() (so errors.Is(err, context.Canceled) or
// context.DeadlineExceeded holds). Reflection takes time and memory in
// proportion to the module's length: types are sized bottom-up, each once,
// with overflow-checked arithmetic; sizes above MaxReflectTypeSize, type
// cycles and forward references, and id bounds out of proportion to the
// module are ErrBadSPIRV, with a message naming the instruction and its word
// offset.
func ReflectContext(ctx context.Context, spirv []byte) (*Reflection, error) {
	res, _, err := reflectSteps(ctx, spirv)
	return res, err
}

// reflectSteps is ReflectContext that also returns how many steps of work
// (instructions, records, decorations, variables) it took; tests bound it.
func reflectSteps(ctx context.Context, spirv []byte) (*Reflection, int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, &Error{Op: "reflect", Detail: "not started", Err: err}
	}
	words, err := spvWords(spirv)
	if err != nil {
		return nil, 0, err
	}
	r := &reflector{ctx: ctx, w: words}
	res, err := r.reflect()
	return res, r.steps, err
}

func badSPIRV(format string, args ...any) error {
	return errf("reflect", ErrBadSPIRV, format, args...)
}

// badAt reports a bad instruction: its opcode and word offset, then what is
// wrong with it.
func badAt(op uint32, at int, format string, args ...any) error {
	return errf("reflect", ErrBadSPIRV, "%s at word %d: %s", opcodeName(op), at, fmt.Sprintf(format, args...))
}

// tick counts a step of work and, every ctxEvery steps, checks the context.
func (r *reflector) tick() error {
	r.steps++
	if r.steps < r.nextCheck {
		return nil
	}
	r.nextCheck = r.steps + ctxEvery
	if err := r.ctx.Err(); err != nil {
		return &Error{Op: "reflect", Detail: fmt.Sprintf("stopped after %d steps on a module of %d words", r.steps, len(r.w)), Err: err}
	}
	return nil
}

func spvWords(b []byte) ([]uint32, error) {
	if len(b) < 20 {
		return nil, badSPIRV("module is %d bytes, shorter than the 20-byte header", len(b))
	}
	if len(b)%4 != 0 {
		return nil, badSPIRV("module length %d is not a multiple of 4", len(b))
	}
	if m := binary.LittleEndian.Uint32(b); m != spvMagic {
		return nil, badSPIRV("bad magic number %#08x (want %#08x, little-endian)", m, spvMagic)
	}
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w, nil
}

// spvString decodes a literal string; it returns the string and the number
// of words it takes, or -1 when it is not terminated.
func spvString(ws []uint32) (string, int) {
	for i, w := range ws {
		for k := 0; k < 4; k++ {
			if byte(w>>(8*k)) == 0 {
				b := make([]byte, 0, 4*i+k)
				for _, x := range ws[:i] {
					b = append(b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
				}
				for j := 0; j < k; j++ {
					b = append(b, byte(w>>(8*j)))
				}
				return string(b), i + 1
			}
		}
	}
	return "", -1
}

// lookup returns the record of id, or nil.
func (r *reflector) lookup(id uint32) *rec {
	if id >= uint32(len(r.slot)) || r.slot[id] == 0 {
		return nil
	}
	return &r.recs[r.slot[id]-1]
}

// typeOf returns the type record of id, or nil.
func (r *reflector) typeOf(id uint32) *rec {
	if x := r.lookup(id); x != nil && x.kind == recType {
		return x
	}
	return nil
}

// typeBefore returns the type record of id if it is defined before the
// record at index i (SPIR-V declares a type's parts before it), or nil.
func (r *reflector) typeBefore(id uint32, i int) *rec {
	if id >= uint32(len(r.slot)) {
		return nil
	}
	if s := int(r.slot[id]) - 1; s >= 0 && s < i && r.recs[s].kind == recType {
		return &r.recs[s]
	}
	return nil
}

// define records id as defined by the instruction at word at.
func (r *reflector) define(kind uint8, op uint32, at int, id uint32) (*rec, error) {
	if id == 0 || id >= r.bound {
		return nil, badAt(op, at, "result id %d out of range (bound %d)", id, r.bound)
	}
	if s := r.slot[id]; s != 0 {
		return nil, badAt(op, at, "id %%%d is already defined by the %s at word %d", id, opcodeName(r.recs[s-1].op), r.recs[s-1].at)
	}
	r.recs = append(r.recs, rec{kind: kind, op: op, at: at, id: id, t: spvType{op: op}})
	r.slot[id] = int32(len(r.recs))
	return &r.recs[len(r.recs)-1], nil
}

func (r *reflector) reflect() (*Reflection, error) {
	w := r.w
	if v := w[1]; v>>24 != 0 || v&0xff != 0 || (v>>16)&0xff != 1 || (v>>8)&0xff > 6 {
		return nil, badSPIRV("unsupported SPIR-V version word %#08x", v)
	}
	bound := w[3]
	if bound == 0 || bound > maxIDBound || uint64(bound) > uint64(len(w))*maxIDsPerWord+idSlack {
		return nil, badSPIRV("implausible id bound %d for a module of %d words", bound, len(w))
	}
	r.bound = bound
	r.slot = make([]int32, bound)
	// A result id takes two words at least: this is enough for most modules.
	r.recs = make([]rec, 0, min(len(w)/8+16, int(bound)))

	inFunction := false
	var lastOp uint32
	res := &Reflection{LocalSizeSpec: [3]int{-1, -1, -1}}
	var entryID uint32
	haveEntry := false
	var localSize [3]uint32
	var localSizeIDs []uint32

	for i := 5; i < len(w); {
		if err := r.tick(); err != nil {
			return nil, err
		}
		n := int(w[i] >> 16)
		op := w[i] & 0xffff
		if n == 0 {
			return nil, badAt(op, i, "word count 0")
		}
		if n > len(w)-i {
			return nil, badAt(op, i, "truncated: needs %d words, %d left", n, len(w)-i)
		}
		a := w[i+1 : i+n]
		need := func(k int) error {
			if len(a) < k {
				return badAt(op, i, "%d operands, needs %d", len(a), k)
			}
			return nil
		}
		var err error
		var x *rec
		lastOp = op
		switch op {
		case opFunction:
			if inFunction {
				return nil, badAt(op, i, "inside another function")
			}
			if err = need(4); err == nil {
				inFunction = true
				_, err = r.define(recFunc, op, i, a[1])
			}
		case opFunctionEnd:
			if !inFunction {
				return nil, badAt(op, i, "outside a function")
			}
			inFunction = false
		case opEntryPoint:
			if err = need(3); err == nil && a[0] == execModelGLCompute && !haveEntry {
				name, used := spvString(a[2:])
				if used < 0 {
					return nil, badAt(op, i, "unterminated entry point name")
				}
				entryID, res.Entry, haveEntry = a[1], name, true
			}
		case opExecutionMode, opExecutionModeID:
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
						localSizeIDs = a[2:5]
					}
				}
			}
		case opDecorate:
			if err = need(2); err == nil {
				switch a[1] {
				case decSpecID, decArrayStride, decBuiltIn, decBinding, decDescriptorSet, decBufferBlock:
					d := decoration{id: a[0], dec: a[1], n: uint32(len(a) - 2)}
					if len(a) > 2 {
						d.val = a[2]
					}
					r.decos = append(r.decos, d)
				}
			}
		case opMemberDecorate:
			if err = need(3); err == nil && (a[2] == decOffset || a[2] == decNonWritable) {
				d := memberDecoration{id: a[0], member: a[1], dec: a[2]}
				if len(a) > 3 {
					d.val = a[3]
				}
				r.mdecos = append(r.mdecos, d)
			}
		case opTypeBool:
			if err = need(1); err == nil {
				x, err = r.define(recType, op, i, a[0])
			}
		case opTypeInt:
			if err = need(3); err == nil {
				if x, err = r.define(recType, op, i, a[0]); err == nil {
					x.t.width, x.t.signed = a[1], a[2] != 0
				}
			}
		case opTypeFloat:
			if err = need(2); err == nil {
				if x, err = r.define(recType, op, i, a[0]); err == nil {
					x.t.width = a[1]
				}
			}
		case opTypeVector, opTypeMatrix, opTypeArray:
			if err = need(3); err == nil {
				if x, err = r.define(recType, op, i, a[0]); err == nil {
					x.t.elem, x.t.count = a[1], a[2]
				}
			}
		case opTypeRuntimeArray:
			if err = need(2); err == nil {
				if x, err = r.define(recType, op, i, a[0]); err == nil {
					x.t.elem = a[1]
				}
			}
		case opTypeStruct:
			if err = need(1); err == nil {
				if x, err = r.define(recType, op, i, a[0]); err == nil {
					x.t.members = a[1:len(a):len(a)]
					x.mbase = r.nmem
					r.nmem += len(a) - 1
				}
			}
		case opTypePointer:
			if err = need(3); err == nil {
				if x, err = r.define(recType, op, i, a[0]); err == nil {
					x.t.storage, x.t.elem = a[1], a[2]
				}
			}
		case opConstant, opSpecConstant:
			if err = need(3); err == nil {
				if x, err = r.define(recConst, op, i, a[1]); err == nil {
					x.typ, x.value, x.known, x.spec = a[0], a[2], true, op == opSpecConstant
				}
			}
		case opConstantTrue, opConstantFalse, opSpecConstantTrue, opSpecConstantFalse:
			if err = need(2); err == nil {
				if x, err = r.define(recConst, op, i, a[1]); err == nil {
					x.typ, x.known, x.spec = a[0], true, op >= opSpecConstantTrue
					if op == opConstantTrue || op == opSpecConstantTrue {
						x.value = 1
					}
				}
			}
		case opConstantComposite, opSpecConstantComposite:
			if err = need(2); err == nil {
				if x, err = r.define(recConst, op, i, a[1]); err == nil {
					x.typ, x.t.members, x.composite, x.spec = a[0], a[2:len(a):len(a)], true, op == opSpecConstantComposite
				}
			}
		case opSpecConstantOp:
			if err = need(3); err == nil {
				var v uint32
				var ok bool
				v, ok = r.evalSpecOp(a[2], a[3:])
				if x, err = r.define(recConst, op, i, a[1]); err == nil {
					x.typ, x.value, x.known, x.spec = a[0], v, ok, true
				}
			}
		case opVariable:
			if err = need(3); err == nil {
				if a[0] == 0 || a[0] >= bound {
					err = badAt(op, i, "type id %d out of range (bound %d)", a[0], bound)
				} else if x, err = r.define(recVar, op, i, a[1]); err == nil {
					x.t.elem, x.t.storage = a[0], a[2]
					r.vars = append(r.vars, int32(len(r.recs)-1))
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
	if f := r.lookup(entryID); f == nil || f.kind != recFunc {
		return nil, badSPIRV("entry point %q names function %d, which the module does not define", res.Entry, entryID)
	}
	if err := r.decorate(); err != nil {
		return nil, err
	}
	if err := r.layout(); err != nil {
		return nil, err
	}

	// Specialization constants.
	for i := range r.recs {
		c := &r.recs[i]
		if c.kind != recConst || !c.spec || c.composite || c.op == opSpecConstantOp || c.decos&hasSpecID == 0 {
			continue
		}
		if err := r.tick(); err != nil {
			return nil, err
		}
		t := r.typeOf(c.typ)
		if t == nil {
			return nil, badAt(c.op, c.at, "specialization constant %%%d has unknown type %%%d", c.id, c.typ)
		}
		si := SpecInfo{ID: c.specID, Default: c.value}
		switch {
		case t.op == opTypeBool:
			si.Type = SpecBool
		case t.op == opTypeInt && t.t.width == 32 && t.t.signed:
			si.Type = SpecInt32
		case t.op == opTypeInt && t.t.width == 32:
			si.Type = SpecUint32
		case t.op == opTypeFloat && t.t.width == 32:
			si.Type = SpecFloat32
		default:
			return nil, badAt(c.op, c.at, "specialization constant %d: only 32-bit scalars and bools are supported", c.specID)
		}
		res.Spec = append(res.Spec, si)
	}
	sort.SliceStable(res.Spec, func(i, j int) bool { return res.Spec[i].ID < res.Spec[j].ID })

	// Local size: a WorkgroupSize built-in overrides the execution mode.
	res.LocalSize = localSize
	dim := func(k int, id uint32) error {
		c := r.lookup(id)
		if c == nil || c.kind != recConst || c.composite || c.op == opSpecConstantOp {
			return badSPIRV("local size %d refers to id %d, not a scalar constant", k, id)
		}
		res.LocalSize[k] = c.value
		if c.spec && c.decos&hasSpecID != 0 {
			res.LocalSizeSpec[k] = int(c.specID)
		}
		return nil
	}
	for k, id := range localSizeIDs {
		if err := dim(k, id); err != nil {
			return nil, err
		}
	}
	for i := range r.recs {
		c := &r.recs[i]
		if c.kind != recConst || c.decos&hasBuiltIn == 0 || c.builtIn != builtInWorkgroupSize {
			continue
		}
		if len(c.t.members) != 3 {
			return nil, badAt(c.op, c.at, "WorkgroupSize built-in is not a 3-component composite")
		}
		for k, pid := range c.t.members {
			if err := dim(k, pid); err != nil {
				return nil, err
			}
		}
	}
	for k, v := range res.LocalSize {
		if v == 0 {
			return nil, badSPIRV("local size %v has a zero dimension %d", res.LocalSize, k)
		}
	}

	if err := r.variables(res); err != nil {
		return nil, err
	}
	return res, nil
}

// evalSpecOp evaluates an OpSpecConstantOp on 32-bit integers, with the
// default values of the specialization constants it uses, when it can:
// enough for array lengths such as `gl_WorkGroupSize.x * 2`.
func (r *reflector) evalSpecOp(op uint32, args []uint32) (uint32, bool) {
	val := func(k int) (uint32, bool) {
		if k >= len(args) {
			return 0, false
		}
		c := r.lookup(args[k])
		if c == nil || c.kind != recConst || !c.known || c.composite {
			return 0, false
		}
		return c.value, true
	}
	if op == 81 { // OpCompositeExtract with one index
		if len(args) != 2 {
			return 0, false
		}
		c := r.lookup(args[0])
		if c == nil || c.kind != recConst || !c.composite || args[1] >= uint32(len(c.t.members)) {
			return 0, false
		}
		args = c.t.members[args[1] : args[1]+1]
		return val(0)
	}
	x, ok := val(0)
	if !ok {
		return 0, false
	}
	switch op {
	case 126: // OpSNegate
		return -x, true
	case 200: // OpNot
		return ^x, true
	case 113, 114: // OpUConvert, OpSConvert
		return x, true
	}
	y, ok := val(1)
	if !ok {
		return 0, false
	}
	switch op {
	case 128: // OpIAdd
		return x + y, true
	case 130: // OpISub
		return x - y, true
	case 132: // OpIMul
		return x * y, true
	case 134: // OpUDiv
		if y != 0 {
			return x / y, true
		}
	case 135: // OpSDiv
		if y != 0 && !(int32(x) == math.MinInt32 && int32(y) == -1) {
			return uint32(int32(x) / int32(y)), true
		}
	case 137: // OpUMod
		if y != 0 {
			return x % y, true
		}
	case 194: // OpShiftRightLogical
		if y < 32 {
			return x >> y, true
		}
	case 195: // OpShiftRightArithmetic
		if y < 32 {
			return uint32(int32(x) >> y), true
		}
	case 196: // OpShiftLeftLogical
		if y < 32 {
			return x << y, true
		}
	case 197: // OpBitwiseOr
		return x | y, true
	case 198: // OpBitwiseXor
		return x ^ y, true
	case 199: // OpBitwiseAnd
		return x & y, true
	}
	return 0, false
}

// decorate attaches the decorations collected in the pass over the module
// to the records they name; later decorations override earlier ones.
func (r *reflector) decorate() error {
	for _, d := range r.decos {
		if err := r.tick(); err != nil {
			return err
		}
		x := r.lookup(d.id)
		if x == nil {
			continue
		}
		var flag uint8
		var dst *uint32
		switch d.dec {
		case decSpecID:
			flag, dst = hasSpecID, &x.specID
		case decArrayStride:
			flag, dst = hasArrayStride, &x.stride
		case decBuiltIn:
			flag, dst = hasBuiltIn, &x.builtIn
		case decBinding:
			flag, dst = hasBinding, &x.binding
		case decDescriptorSet:
			flag, dst = hasSet, &x.set
		case decBufferBlock:
			x.decos |= hasBufferBlock
			continue
		}
		if d.n == 0 {
			x.decos &^= flag
			continue
		}
		x.decos |= flag
		*dst = d.val
	}
	r.moff = make([]int64, r.nmem)
	r.mnw = make([]bool, r.nmem)
	for _, d := range r.mdecos {
		if err := r.tick(); err != nil {
			return err
		}
		s := r.typeOf(d.id)
		if s == nil || s.op != opTypeStruct || d.member >= uint32(len(s.t.members)) {
			continue
		}
		if d.dec == decOffset {
			r.moff[s.mbase+int(d.member)] = int64(d.val)
		} else {
			r.mnw[s.mbase+int(d.member)] = true
		}
	}
	return nil
}

// mulSize multiplies two sizes; ok is false beyond MaxReflectTypeSize.
func mulSize(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || (b != 0 && a > MaxReflectTypeSize/b) {
		return 0, false
	}
	return a * b, true
}

// alignUp rounds n up to a multiple of a (a > 0).
func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// layout sizes every type once, in the order the module declares them, so
// that the parts of each type are sized before it. A type whose size is
// unknown or absurd is not an error until a variable needs its size.
func (r *reflector) layout() error {
	for i := range r.recs {
		x := &r.recs[i]
		if x.kind != recType {
			continue
		}
		if err := r.tick(); err != nil {
			return err
		}
		self := int32(i + 1)
		fail := func(why string) { x.bad = self; r.setWhy(self, why) }
		natFail := func(why string) { x.natBad = self; r.setWhy(-self, why) }
		both := func(why string) { fail(why); natFail(why) }
		x.natAlign = 1
		switch x.op {
		case opTypeBool:
			x.size, x.natSize, x.natAlign = 4, 4, 4
		case opTypeInt, opTypeFloat:
			s := int64(x.t.width / 8)
			x.size, x.natSize, x.natAlign = s, s, max(s, 1)
		case opTypeVector, opTypeMatrix:
			e := r.typeBefore(x.t.elem, i)
			if e == nil {
				both(fmt.Sprintf("component type %%%d is not a type declared before it", x.t.elem))
				break
			}
			if e.runtime {
				both(fmt.Sprintf("component type %%%d is a runtime array", x.t.elem))
				break
			}
			var ok bool
			if x.bad = e.bad; x.bad == 0 {
				if x.size, ok = mulSize(e.size, int64(x.t.count)); !ok {
					fail(fmt.Sprintf("%d components of %d bytes exceed %d bytes", x.t.count, e.size, MaxReflectTypeSize))
				}
			}
			if x.natBad = e.natBad; x.natBad == 0 {
				x.natAlign = e.natAlign
				if x.natSize, ok = mulSize(e.natSize, int64(x.t.count)); !ok {
					natFail(fmt.Sprintf("%d components of %d bytes exceed %d bytes", x.t.count, e.natSize, MaxReflectTypeSize))
				}
			}
		case opTypeArray, opTypeRuntimeArray:
			e := r.typeBefore(x.t.elem, i)
			if e == nil {
				both(fmt.Sprintf("element type %%%d is not a type declared before it", x.t.elem))
				break
			}
			if e.runtime {
				both(fmt.Sprintf("element type %%%d contains a runtime array", x.t.elem))
				break
			}
			var n int64
			if x.op == opTypeArray {
				c := r.lookup(x.t.count)
				switch {
				case c == nil || c.kind != recConst || r.slot[x.t.count] > self:
					both(fmt.Sprintf("length %%%d is not a constant declared before it", x.t.count))
				case c.composite:
					both(fmt.Sprintf("length %%%d is a composite constant", x.t.count))
				case !c.known:
					both(fmt.Sprintf("length %%%d is a specialization constant operation vkio does not evaluate", x.t.count))
				}
				if x.bad != 0 {
					break
				}
				n = int64(c.value)
			} else {
				x.runtime = true
				natFail("a runtime array has no size in Workgroup memory")
			}
			var ok bool
			stride := e.size
			if x.decos&hasArrayStride != 0 {
				stride = int64(x.stride)
			}
			switch {
			case e.bad != 0:
				x.bad = e.bad
			case stride > MaxReflectTypeSize:
				fail(fmt.Sprintf("array stride %d exceeds %d bytes", stride, MaxReflectTypeSize))
			default:
				if x.size, ok = mulSize(stride, n); !ok {
					fail(fmt.Sprintf("%d elements with stride %d exceed %d bytes", n, stride, MaxReflectTypeSize))
				}
			}
			if x.natBad != 0 {
				break
			}
			if x.natBad = e.natBad; x.natBad == 0 {
				x.natAlign = e.natAlign
				if x.natSize, ok = mulSize(e.natSize, n); !ok {
					natFail(fmt.Sprintf("%d elements of %d bytes exceed %d bytes", n, e.natSize, MaxReflectTypeSize))
				}
			}
		case opTypeStruct:
			r.layoutStruct(x, i)
		default: // pointers
			both("")
		}
	}
	return nil
}

// layoutStruct sizes a struct from its members, already sized.
func (r *reflector) layoutStruct(x *rec, i int) {
	self := int32(i + 1)
	ms := x.t.members
	r.steps += len(ms)
	var end, cur int64
	for k, mid := range ms {
		e := r.typeBefore(mid, i)
		if e == nil {
			why := fmt.Sprintf("member %d type %%%d is not a type declared before it", k, mid)
			if mid == x.id {
				why = fmt.Sprintf("member %d is the struct itself", k)
			}
			x.bad, x.natBad = self, self
			r.setWhy(self, why)
			r.setWhy(-self, why)
			return
		}
		if x.bad == 0 {
			off := r.moff[x.mbase+k]
			switch {
			case e.bad != 0:
				x.bad = e.bad
			case e.runtime && k != len(ms)-1:
				x.bad = self
				r.setWhy(self, fmt.Sprintf("member %d (a runtime array) is not the last member", k))
			case off+e.size > MaxReflectTypeSize:
				x.bad = self
				r.setWhy(self, fmt.Sprintf("member %d at offset %d with size %d exceeds %d bytes", k, off, e.size, MaxReflectTypeSize))
			case e.runtime:
				x.size, x.runtime = off+e.size, true
			default:
				end = max(end, off+e.size)
			}
		}
		if x.natBad == 0 {
			switch {
			case e.natBad != 0:
				x.natBad = e.natBad
			default:
				off := alignUp(cur, e.natAlign)
				if off+e.natSize > MaxReflectTypeSize {
					x.natBad = self
					r.setWhy(-self, fmt.Sprintf("member %d at natural offset %d with size %d exceeds %d bytes", k, off, e.natSize, MaxReflectTypeSize))
					break
				}
				cur = off + e.natSize
				x.natAlign = max(x.natAlign, e.natAlign)
			}
		}
	}
	if !x.runtime {
		x.size = end
	}
	if x.natBad == 0 {
		if x.natSize = alignUp(cur, x.natAlign); x.natSize > MaxReflectTypeSize {
			x.natBad = self
			r.setWhy(-self, fmt.Sprintf("natural size %d exceeds %d bytes", x.natSize, MaxReflectTypeSize))
		}
	}
}

// setWhy records why the type at 1 + index |self| has no size (explicit
// layout for self > 0, natural for self < 0).
func (r *reflector) setWhy(self int32, why string) {
	if why == "" {
		return
	}
	if r.whys == nil {
		r.whys = map[int32]string{}
	}
	r.whys[self] = why
}

// sizeError reports why the type of a variable has no size: the
// instruction at the root of the problem, and the variable that needs it.
func (r *reflector) sizeError(v *rec, root int32, natural bool) error {
	x := &r.recs[root-1]
	if natural {
		root = -root
	}
	why := r.whys[root]
	if why == "" {
		why = fmt.Sprintf("type %%%d has no size", x.id)
	}
	return badAt(x.op, x.at, "%s (needed by variable %%%d at word %d)", why, v.id, v.at)
}

// variables fills in push constants, bindings and shared memory.
func (r *reflector) variables(res *Reflection) error {
	var shared int64
	for _, vi := range r.vars {
		v := &r.recs[vi]
		if err := r.tick(); err != nil {
			return err
		}
		pt := r.typeOf(v.t.elem)
		if pt == nil || pt.op != opTypePointer {
			return badAt(v.op, v.at, "variable %%%d has non-pointer type %%%d", v.id, v.t.elem)
		}
		switch v.t.storage {
		case storagePushConstant:
			t := r.typeOf(pt.t.elem)
			if t == nil {
				return badAt(v.op, v.at, "push constant variable %%%d points to unknown type %%%d", v.id, pt.t.elem)
			}
			if t.bad != 0 {
				return r.sizeError(v, t.bad, false)
			}
			res.PushSize = int(t.size)
		case storageWorkgroup:
			t := r.typeOf(pt.t.elem)
			if t == nil {
				return badAt(v.op, v.at, "Workgroup variable %%%d points to unknown type %%%d", v.id, pt.t.elem)
			}
			if t.natBad != 0 {
				return r.sizeError(v, t.natBad, true)
			}
			if shared = alignUp(shared, t.natAlign) + t.natSize; shared > MaxReflectTypeSize {
				return badAt(v.op, v.at, "Workgroup variables exceed %d bytes", MaxReflectTypeSize)
			}
		case storageUniform, storageStorageBuffer, storageUniformConstant:
			if v.decos&hasSet == 0 || v.decos&hasBinding == 0 {
				if v.t.storage == storageUniformConstant {
					continue
				}
				return badAt(v.op, v.at, "resource variable %%%d lacks DescriptorSet/Binding decorations", v.id)
			}
			bi := BindingInfo{Set: v.set, Binding: v.binding}
			t := r.typeOf(pt.t.elem)
			if t != nil && (t.op == opTypeArray || t.op == opTypeRuntimeArray) {
				return badAt(v.op, v.at, "binding %d.%d: arrays of descriptors are not supported", bi.Set, bi.Binding)
			}
			if t == nil || t.op != opTypeStruct || v.t.storage == storageUniformConstant {
				return badAt(v.op, v.at, "binding %d.%d: only buffer blocks are supported (images and samplers are not)", bi.Set, bi.Binding)
			}
			if v.t.storage == storageStorageBuffer || t.decos&hasBufferBlock != 0 {
				bi.Kind = StorageBuffer
			} else {
				bi.Kind = UniformBuffer
			}
			bi.ReadOnly = len(t.t.members) > 0
			for m := range t.t.members {
				if !r.mnw[t.mbase+m] {
					bi.ReadOnly = false
					break
				}
			}
			if bi.Kind == UniformBuffer {
				bi.ReadOnly = true
			}
			if t.bad != 0 {
				return r.sizeError(v, t.bad, false)
			}
			bi.MinSize, bi.RuntimeArray = int(t.size), t.runtime
			bi.Elem = blockElem(r.elemLookup, &t.t)
			res.Bindings = append(res.Bindings, bi)
		}
	}
	res.SharedMemory = int(shared)
	sort.Slice(res.Bindings, func(i, j int) bool {
		if res.Bindings[i].Set != res.Bindings[j].Set {
			return res.Bindings[i].Set < res.Bindings[j].Set
		}
		return res.Bindings[i].Binding < res.Bindings[j].Binding
	})
	for i := 1; i < len(res.Bindings); i++ {
		if res.Bindings[i].Set == res.Bindings[i-1].Set && res.Bindings[i].Binding == res.Bindings[i-1].Binding {
			return badSPIRV("binding %d.%d is declared twice", res.Bindings[i].Set, res.Bindings[i].Binding)
		}
	}
	return nil
}

// elemLookup gives blockElem the type table.
func (r *reflector) elemLookup(id uint32) *spvType {
	if x := r.typeOf(id); x != nil {
		return &x.t
	}
	return nil
}

// blockElem finds the scalar type of a buffer block's data from the type
// table: the block's last member (for a runtime array, its element), then
// that type's first scalar. It follows at most 33 types.
func blockElem(types func(id uint32) *spvType, block *spvType) Scalar {
	if len(block.members) == 0 {
		return ScalarUnknown
	}
	id := block.members[len(block.members)-1]
	if t := types(id); t != nil && t.op == opTypeRuntimeArray {
		id = t.elem
	}
	for depth := 0; depth <= 32; depth++ {
		t := types(id)
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
			var k Scalar
			switch t.width {
			case 8:
				k = Int8
			case 16:
				k = Int16
			case 32:
				k = Int32
			case 64:
				k = Int64
			default:
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
