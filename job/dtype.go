package job

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DType is the element type of a buffer or a push-constant value.
type DType int

// The element types.
const (
	F32 DType = iota
	F64
	I8
	U8
	I16
	U16
	I32
	U32
	I64
	U64
)

var typeNames = [...]string{"f32", "f64", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"}

// TypeList is the help text listing the type names.
const TypeList = "f32 f64 i8 u8 i16 u16 i32 u32 i64 u64 (also float, double, int, uint)"

// String returns the type's name: f32, u8.
func (t DType) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return fmt.Sprintf("DType(%d)", int(t))
	}
	return typeNames[t]
}

// size is the width of one element in bytes.
func (t DType) Size() int {
	switch t {
	case I8, U8:
		return 1
	case I16, U16:
		return 2
	case F32, I32, U32:
		return 4
	}
	return 8
}

// IsFloat reports whether t is a floating-point type.
func (t DType) IsFloat() bool { return t == F32 || t == F64 }

// IsSigned reports whether t is a signed integer type.
func (t DType) IsSigned() bool { return t == I8 || t == I16 || t == I32 || t == I64 }

// NpyDescr is the numpy DType string (little-endian).
func (t DType) NpyDescr() string {
	switch t {
	case F32:
		return "<f4"
	case F64:
		return "<f8"
	case I8:
		return "|i1"
	case U8:
		return "|u1"
	}
	kind := "u"
	if t.IsSigned() {
		kind = "i"
	}
	return fmt.Sprintf("<%s%d", kind, t.Size())
}

// ParseDType parses a type name.
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "float":
		return F32, nil
	case "double":
		return F64, nil
	case "int":
		return I32, nil
	case "uint":
		return U32, nil
	}
	for i, n := range typeNames {
		if strings.EqualFold(n, s) {
			return DType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown type %s (want one of %s)", q(s), TypeList)
}

// Value is a number parsed for a given type, kept in the widest form.
type Value struct {
	Type DType
	F    float64 // floats
	I    int64   // signed integers
	U    uint64  // unsigned integers
}

// ParseValue parses s as a Value of type t, range-checked.
func ParseValue(t DType, s string) (Value, error) {
	s = strings.TrimSpace(s)
	v := Value{Type: t}
	var err error
	switch {
	case t.IsFloat():
		v.F, err = strconv.ParseFloat(s, t.Size()*8)
	case t.IsSigned():
		v.I, err = strconv.ParseInt(s, 0, t.Size()*8)
	default:
		v.U, err = strconv.ParseUint(s, 0, t.Size()*8)
	}
	if err != nil {
		var ne *strconv.NumError
		if e, ok := err.(*strconv.NumError); ok {
			ne = e
		}
		if ne != nil && ne.Err == strconv.ErrRange {
			return v, fmt.Errorf("%s is out of range for %s", q(s), t)
		}
		return v, fmt.Errorf("%s is not a valid %s", q(s), t)
	}
	return v, nil
}

// Float returns the Value as a float64.
func (v Value) Float() float64 {
	switch {
	case v.Type.IsFloat():
		return v.F
	case v.Type.IsSigned():
		return float64(v.I)
	}
	return float64(v.U)
}

// AppendLE appends the value's little-endian bytes.
func (v Value) AppendLE(b []byte) []byte {
	switch v.Type {
	case F32:
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v.F)))
	case F64:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.F))
	case I8:
		return append(b, byte(v.I))
	case U8:
		return append(b, byte(v.U))
	case I16:
		return binary.LittleEndian.AppendUint16(b, uint16(v.I))
	case U16:
		return binary.LittleEndian.AppendUint16(b, uint16(v.U))
	case I32:
		return binary.LittleEndian.AppendUint32(b, uint32(v.I))
	case U32:
		return binary.LittleEndian.AppendUint32(b, uint32(v.U))
	case I64:
		return binary.LittleEndian.AppendUint64(b, uint64(v.I))
	}
	return binary.LittleEndian.AppendUint64(b, v.U)
}

// ElemAt decodes element i of data, of type t, as a float64.
func ElemAt(t DType, data []byte, i int) float64 {
	o := i * t.Size()
	le := binary.LittleEndian
	switch t {
	case F32:
		return float64(math.Float32frombits(le.Uint32(data[o:])))
	case F64:
		return math.Float64frombits(le.Uint64(data[o:]))
	case I8:
		return float64(int8(data[o]))
	case U8:
		return float64(data[o])
	case I16:
		return float64(int16(le.Uint16(data[o:])))
	case U16:
		return float64(le.Uint16(data[o:]))
	case I32:
		return float64(int32(le.Uint32(data[o:])))
	case U32:
		return float64(le.Uint32(data[o:]))
	case I64:
		return float64(int64(le.Uint64(data[o:])))
	}
	return float64(le.Uint64(data[o:]))
}

// FormatElem formats element i of data for the summary.
func FormatElem(t DType, data []byte, i int) string {
	o := i * t.Size()
	le := binary.LittleEndian
	switch t {
	case F32:
		return strconv.FormatFloat(float64(math.Float32frombits(le.Uint32(data[o:]))), 'g', 7, 32)
	case F64:
		return strconv.FormatFloat(math.Float64frombits(le.Uint64(data[o:])), 'g', 10, 64)
	case I64:
		return strconv.FormatInt(int64(le.Uint64(data[o:])), 10)
	case U64:
		return strconv.FormatUint(le.Uint64(data[o:]), 10)
	}
	return strconv.FormatFloat(ElemAt(t, data, i), 'f', -1, 64)
}

// Size is a buffer size: elements or bytes.
type Size struct {
	N       int64
	InBytes bool
}

// String writes the size as given: "4 MiB" or "1000 elements".
func (s Size) String() string {
	if s.InBytes {
		return FormatBytes(s.N)
	}
	return fmt.Sprintf("%d elements", s.N)
}

// Bytes returns the size in bytes for elements of type t.
func (s Size) Bytes(t DType) (int64, error) {
	if s.InBytes {
		if s.N%int64(t.Size()) != 0 {
			return 0, fmt.Errorf("%s is not a whole number of %s elements", FormatBytes(s.N), t)
		}
		return s.N, nil
	}
	return s.N * int64(t.Size()), nil
}

// SizeHelp documents the size syntax.
const SizeHelp = `SIZE is a count of elements: 1000, 64K (65536), 1M (1048576), 1G; or bytes
with a unit: 4096B, 64KiB, 4MiB, 1GiB (binary units).`

// ParseSize parses a SIZE.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return Size{}, fmt.Errorf("bad size %s: want a number of elements (1000, 64K, 1M) or bytes (4096B, 64KiB, 4MiB)", q(s))
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return Size{}, fmt.Errorf("bad size %s: too large", q(s))
	}
	var mul int64
	var inBytes bool
	switch t[i:] {
	case "":
		mul = 1
	case "k", "K":
		mul = 1 << 10
	case "m", "M":
		mul = 1 << 20
	case "g", "G":
		mul = 1 << 30
	case "B", "b":
		mul, inBytes = 1, true
	case "KiB", "kiB", "KB", "kB":
		mul, inBytes = 1<<10, true
	case "MiB", "MB":
		mul, inBytes = 1<<20, true
	case "GiB", "GB":
		mul, inBytes = 1<<30, true
	default:
		return Size{}, fmt.Errorf("bad size %s: unknown unit %s (elements: K M G; bytes: B KiB MiB GiB)", q(s), q(t[i:]))
	}
	if n <= 0 {
		return Size{}, fmt.Errorf("bad size %s: must be positive", q(s))
	}
	if n > MaxSize/mul {
		return Size{}, fmt.Errorf("bad size %s: too large", q(s))
	}
	return Size{N: n * mul, InBytes: inBytes}, nil
}

// ParseDims parses "X[,Y[,Z]]" (also "XxYxZ") into three positive counts,
// missing ones 1. It scans s in place: a long s costs no allocation.
func ParseDims(s string) ([3]uint32, error) {
	d := [3]uint32{1, 1, 1}
	n := 0
	for rest := s; ; {
		i := strings.IndexAny(rest, ",x")
		field := rest
		if i >= 0 {
			field, rest = rest[:i], rest[i+1:]
		}
		if f := strings.TrimSpace(field); f != "" || i < 0 {
			if f == "" {
				break // a trailing separator, or an empty s
			}
			if n == 3 {
				return d, fmt.Errorf("%s: want X[,Y[,Z]]", q(s))
			}
			v, err := strconv.ParseUint(f, 10, 32)
			if err != nil || v == 0 {
				return d, fmt.Errorf("%s: %s is not a positive count", q(s), q(f))
			}
			d[n] = uint32(v)
			n++
		}
		if i < 0 {
			break
		}
	}
	if n == 0 {
		return d, fmt.Errorf("%s: want X[,Y[,Z]]", q(s))
	}
	return d, nil
}

// ParsePush appends the values of one push-constant list, "TYPE:VALUE,...", to
// dst. It scans arg in place and fails as soon as the values (with dst's)
// pass MaxPushBytes: however long arg is, no more than that is parsed or
// kept.
func ParsePush(dst []Value, arg string) ([]Value, error) {
	n := 0
	for _, v := range dst {
		n += v.Type.Size()
	}
	err := eachField(arg, ',', func(one string) error {
		ts, vs, ok := strings.Cut(one, ":")
		if !ok {
			return fmt.Errorf("%s: want TYPE:VALUE, e.g. f32:2.5 or u32:7", q(one))
		}
		t, err := ParseDType(ts)
		if err != nil {
			return fmt.Errorf("%s: %v", q(one), err)
		}
		if n += t.Size(); n > MaxPushBytes {
			return fmt.Errorf("gives more than %d bytes of push constants, more than any device takes", MaxPushBytes)
		}
		v, err := ParseValue(t, vs)
		if err != nil {
			return fmt.Errorf("%s: %v", q(one), err)
		}
		dst = append(dst, v)
		return nil
	})
	return dst, err
}

// DTypeOfNpy returns the element type of a .npy descr ("<f4", "|u1"); a
// numpy bool ("|b1") is read as U8 (its bytes are 0 or 1).
func DTypeOfNpy(descr string) (DType, bool) {
	t, ok := npyTypes[descr]
	return t, ok
}

var npyTypes = map[string]DType{
	"<f4": F32, "<f8": F64,
	"|i1": I8, "<i1": I8, "|u1": U8, "<u1": U8, "|b1": U8,
	"<i2": I16, "<u2": U16, "<i4": I32, "<u4": U32, "<i8": I64, "<u8": U64,
}

// FormatBytes writes a byte count with a binary unit: 4 KiB, 1.5 MiB, 12 B.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
