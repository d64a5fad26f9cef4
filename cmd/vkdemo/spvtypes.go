package main

import "encoding/binary"

// elementTypes finds, for each descriptor binding of set 0 in a SPIR-V module,
// the scalar type of its data: for a block ending in a runtime array, the
// scalar of the array's element (float for vec4[]); otherwise the first
// scalar of the block's last member. gpu.Reflect does not report element
// types; this small pass does, so that .npy outputs get the right dtype and
// summaries print numbers rather than bits. Bindings it cannot type are
// missing from the map (callers default to f32). It never fails: the module
// has been validated by gpu.Reflect first, and anything unexpected here just
// leaves a binding untyped.
func elementTypes(spirv []byte) map[uint32]dtype {
	out := map[uint32]dtype{}
	if len(spirv) < 20 || len(spirv)%4 != 0 {
		return out
	}
	words := make([]uint32, len(spirv)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(spirv[4*i:])
	}
	const (
		opTypeInt          = 21
		opTypeFloat        = 22
		opTypeVector       = 23
		opTypeMatrix       = 24
		opTypeArray        = 28
		opTypeRuntimeArray = 29
		opTypeStruct       = 30
		opTypePointer      = 32
		opVariable         = 59
		opDecorate         = 71
		decBinding         = 33
		decDescriptorSet   = 34
	)
	type typ struct {
		op      uint32
		args    []uint32 // operands after the result id
		scalar  dtype
		defined bool
	}
	types := map[uint32]*typ{}
	binding := map[uint32]uint32{}
	set := map[uint32]uint32{}
	var vars [][2]uint32 // {pointer type, variable id}
	for i := 5; i < len(words); {
		n := int(words[i] >> 16)
		op := words[i] & 0xffff
		if n == 0 || i+n > len(words) {
			return out
		}
		ins := words[i+1 : i+n]
		switch op {
		case opTypeInt:
			if len(ins) >= 3 {
				t := &typ{op: op, defined: true}
				signed := ins[2] == 1
				switch ins[1] {
				case 8:
					t.scalar = map[bool]dtype{true: i8, false: u8}[signed]
				case 16:
					t.scalar = map[bool]dtype{true: i16, false: u16}[signed]
				case 32:
					t.scalar = map[bool]dtype{true: i32, false: u32}[signed]
				case 64:
					t.scalar = map[bool]dtype{true: i64, false: u64}[signed]
				default:
					t.defined = false
				}
				types[ins[0]] = t
			}
		case opTypeFloat:
			if len(ins) >= 2 {
				t := &typ{op: op, defined: true}
				switch ins[1] {
				case 32:
					t.scalar = f32
				case 64:
					t.scalar = f64
				default:
					t.defined = false
				}
				types[ins[0]] = t
			}
		case opTypeVector, opTypeMatrix, opTypeArray, opTypeRuntimeArray, opTypeStruct, opTypePointer:
			if len(ins) >= 1 {
				types[ins[0]] = &typ{op: op, args: ins[1:]}
			}
		case opVariable:
			if len(ins) >= 3 {
				vars = append(vars, [2]uint32{ins[0], ins[1]})
			}
		case opDecorate:
			if len(ins) >= 3 {
				switch ins[1] {
				case decBinding:
					binding[ins[0]] = ins[2]
				case decDescriptorSet:
					set[ins[0]] = ins[2]
				}
			}
		}
		i += n
	}
	// scalarOf descends to the first scalar of a type.
	var scalarOf func(id uint32, depth int) (dtype, bool)
	scalarOf = func(id uint32, depth int) (dtype, bool) {
		t := types[id]
		if t == nil || depth > 16 {
			return 0, false
		}
		switch t.op {
		case opTypeInt, opTypeFloat:
			return t.scalar, t.defined
		case opTypeVector, opTypeMatrix, opTypeArray, opTypeRuntimeArray, opTypeStruct:
			if len(t.args) == 0 {
				return 0, false
			}
			if t.op == opTypeStruct {
				return scalarOf(t.args[len(t.args)-1], depth+1)
			}
			return scalarOf(t.args[0], depth+1)
		case opTypePointer:
			if len(t.args) >= 2 {
				return scalarOf(t.args[1], depth+1)
			}
		}
		return 0, false
	}
	for _, v := range vars {
		b, ok := binding[v[1]]
		if !ok || set[v[1]] != 0 {
			continue
		}
		if dt, ok := scalarOf(v[0], 0); ok {
			out[b] = dt
		}
	}
	return out
}
