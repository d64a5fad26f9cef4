package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vkio/vkio/gpu"
)

// dtype is the element type of a buffer or a push-constant value.
type dtype int

const (
	f32 dtype = iota
	f64
	i8
	u8
	i16
	u16
	i32
	u32
	i64
	u64
)

var dtypeNames = [...]string{"f32", "f64", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"}

// typeList is the help text listing the type names.
const typeList = "f32 f64 i8 u8 i16 u16 i32 u32 i64 u64 (also float, double, int, uint)"

func (t dtype) String() string { return dtypeNames[t] }

// elementTypes maps each binding of set 0 to the dtype of its data, as
// gpu.Reflect reports it (BindingInfo.Elem). Bindings whose element type has
// no dtype (float16, unknown) are missing from the map; callers default to
// f32.
func elementTypes(r *gpu.Reflection) map[uint32]dtype {
	out := map[uint32]dtype{}
	for _, b := range r.Bindings {
		if b.Set != 0 {
			continue
		}
		if t, ok := scalarDtypes[b.Elem]; ok {
			out[b.Binding] = t
		}
	}
	return out
}

var scalarDtypes = map[gpu.Scalar]dtype{
	gpu.Float32: f32, gpu.Float64: f64,
	gpu.Int8: i8, gpu.Uint8: u8, gpu.Int16: i16, gpu.Uint16: u16,
	gpu.Int32: i32, gpu.Uint32: u32, gpu.Int64: i64, gpu.Uint64: u64,
}

// size is the width of one element in bytes.
func (t dtype) size() int {
	switch t {
	case i8, u8:
		return 1
	case i16, u16:
		return 2
	case f32, i32, u32:
		return 4
	}
	return 8
}

func (t dtype) isFloat() bool  { return t == f32 || t == f64 }
func (t dtype) isSigned() bool { return t == i8 || t == i16 || t == i32 || t == i64 }

// npyDescr is the numpy dtype string (little-endian).
func (t dtype) npyDescr() string {
	switch t {
	case f32:
		return "<f4"
	case f64:
		return "<f8"
	case i8:
		return "|i1"
	case u8:
		return "|u1"
	}
	kind := "u"
	if t.isSigned() {
		kind = "i"
	}
	return fmt.Sprintf("<%s%d", kind, t.size())
}

// parseDtype parses a type name.
func parseDtype(s string) (dtype, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "float":
		return f32, nil
	case "double":
		return f64, nil
	case "int":
		return i32, nil
	case "uint":
		return u32, nil
	}
	for i, n := range dtypeNames {
		if strings.EqualFold(n, s) {
			return dtype(i), nil
		}
	}
	return 0, fmt.Errorf("unknown type %s (want one of %s)", q(s), typeList)
}

// value is a number parsed for a given type, kept in the widest form.
type value struct {
	t dtype
	f float64 // floats
	i int64   // signed
	u uint64  // unsigned
}

// parseValue parses s as a value of type t, range-checked.
func parseValue(t dtype, s string) (value, error) {
	s = strings.TrimSpace(s)
	v := value{t: t}
	var err error
	switch {
	case t.isFloat():
		v.f, err = strconv.ParseFloat(s, t.size()*8)
	case t.isSigned():
		v.i, err = strconv.ParseInt(s, 0, t.size()*8)
	default:
		v.u, err = strconv.ParseUint(s, 0, t.size()*8)
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

// float returns the value as a float64.
func (v value) float() float64 {
	switch {
	case v.t.isFloat():
		return v.f
	case v.t.isSigned():
		return float64(v.i)
	}
	return float64(v.u)
}

// appendLE appends the value's little-endian bytes.
func (v value) appendLE(b []byte) []byte {
	switch v.t {
	case f32:
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v.f)))
	case f64:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.f))
	case i8:
		return append(b, byte(v.i))
	case u8:
		return append(b, byte(v.u))
	case i16:
		return binary.LittleEndian.AppendUint16(b, uint16(v.i))
	case u16:
		return binary.LittleEndian.AppendUint16(b, uint16(v.u))
	case i32:
		return binary.LittleEndian.AppendUint32(b, uint32(v.i))
	case u32:
		return binary.LittleEndian.AppendUint32(b, uint32(v.u))
	case i64:
		return binary.LittleEndian.AppendUint64(b, uint64(v.i))
	}
	return binary.LittleEndian.AppendUint64(b, v.u)
}

// elemAt decodes element i of data, of type t, as a float64.
func elemAt(t dtype, data []byte, i int) float64 {
	o := i * t.size()
	le := binary.LittleEndian
	switch t {
	case f32:
		return float64(math.Float32frombits(le.Uint32(data[o:])))
	case f64:
		return math.Float64frombits(le.Uint64(data[o:]))
	case i8:
		return float64(int8(data[o]))
	case u8:
		return float64(data[o])
	case i16:
		return float64(int16(le.Uint16(data[o:])))
	case u16:
		return float64(le.Uint16(data[o:]))
	case i32:
		return float64(int32(le.Uint32(data[o:])))
	case u32:
		return float64(le.Uint32(data[o:]))
	case i64:
		return float64(int64(le.Uint64(data[o:])))
	}
	return float64(le.Uint64(data[o:]))
}

// formatElem formats element i of data for the summary.
func formatElem(t dtype, data []byte, i int) string {
	o := i * t.size()
	le := binary.LittleEndian
	switch t {
	case f32:
		return strconv.FormatFloat(float64(math.Float32frombits(le.Uint32(data[o:]))), 'g', 7, 32)
	case f64:
		return strconv.FormatFloat(math.Float64frombits(le.Uint64(data[o:])), 'g', 10, 64)
	case i64:
		return strconv.FormatInt(int64(le.Uint64(data[o:])), 10)
	case u64:
		return strconv.FormatUint(le.Uint64(data[o:]), 10)
	}
	return strconv.FormatFloat(elemAt(t, data, i), 'f', -1, 64)
}

// sizeSpec is a buffer size: elements or bytes.
type sizeSpec struct {
	n       int64
	inBytes bool
}

func (s sizeSpec) String() string {
	if s.inBytes {
		return formatBytes(s.n)
	}
	return fmt.Sprintf("%d elements", s.n)
}

// bytes returns the size in bytes for elements of type t.
func (s sizeSpec) bytes(t dtype) (int64, error) {
	if s.inBytes {
		if s.n%int64(t.size()) != 0 {
			return 0, fmt.Errorf("%s is not a whole number of %s elements", formatBytes(s.n), t)
		}
		return s.n, nil
	}
	return s.n * int64(t.size()), nil
}

// sizeHelp documents the size syntax.
const sizeHelp = `SIZE is a count of elements: 1000, 64K (65536), 1M (1048576), 1G; or bytes
with a unit: 4096B, 64KiB, 4MiB, 1GiB (binary units).`

// parseSize parses a SIZE.
func parseSize(s string) (sizeSpec, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return sizeSpec{}, fmt.Errorf("bad size %s: want a number of elements (1000, 64K, 1M) or bytes (4096B, 64KiB, 4MiB)", q(s))
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return sizeSpec{}, fmt.Errorf("bad size %s: too large", q(s))
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
		return sizeSpec{}, fmt.Errorf("bad size %s: unknown unit %s (elements: K M G; bytes: B KiB MiB GiB)", q(s), q(t[i:]))
	}
	if n <= 0 {
		return sizeSpec{}, fmt.Errorf("bad size %s: must be positive", q(s))
	}
	if n > (1<<40)/mul {
		return sizeSpec{}, fmt.Errorf("bad size %s: too large", q(s))
	}
	return sizeSpec{n: n * mul, inBytes: inBytes}, nil
}

// parseDims parses "X[,Y[,Z]]" (also "XxYxZ") into three positive counts,
// missing ones 1. It scans s in place: a long s costs no allocation.
func parseDims(s string) ([3]uint32, error) {
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

// eachField calls fn with each sep-separated field of s, in order, as
// strings.Split would give them (an empty s is one empty field), but
// scanning s in place: no slice of fields is made, so a long s with
// millions of fields costs nothing until fn stops it. It returns fn's
// first error.
func eachField(s string, sep byte, fn func(string) error) error {
	for {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return fn(s)
		}
		if err := fn(s[:i]); err != nil {
			return err
		}
		s = s[i+1:]
	}
}

// parsePush appends the values of one --push value, "TYPE:VALUE,...", to
// dst. It scans arg in place and fails as soon as the values (with dst's)
// pass maxPushBytes: however long arg is, no more than that is parsed or
// kept.
func parsePush(dst []value, arg string) ([]value, error) {
	n := 0
	for _, v := range dst {
		n += v.t.size()
	}
	err := eachField(arg, ',', func(one string) error {
		ts, vs, ok := strings.Cut(one, ":")
		if !ok {
			return fmt.Errorf("%s: want TYPE:VALUE, e.g. f32:2.5 or u32:7", q(one))
		}
		t, err := parseDtype(ts)
		if err != nil {
			return fmt.Errorf("%s: %v", q(one), err)
		}
		if n += t.size(); n > maxPushBytes {
			return fmt.Errorf("gives more than %d bytes of push constants, more than any device takes", maxPushBytes)
		}
		v, err := parseValue(t, vs)
		if err != nil {
			return fmt.Errorf("%s: %v", q(one), err)
		}
		dst = append(dst, v)
		return nil
	})
	return dst, err
}
