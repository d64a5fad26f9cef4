package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

const npyMagic = "\x93NUMPY"

// npyHeader returns the .npy (version 1.0) header for a C-order array of
// type t and shape shape, padded so that the data starts at a multiple of 64.
func npyHeader(t dtype, shape []int64) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", t.npyDescr(), sh)
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	h := make([]byte, 0, 10+len(dict))
	h = append(h, npyMagic...)
	h = append(h, 1, 0)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)))
	return append(h, dict...)
}

// npyArray is a parsed .npy file: the element type, the shape and the data,
// a slice of the file's bytes (nothing is copied).
type npyArray struct {
	descr string  // as the file gives it, for messages
	typ   dtype   // the descr's dtype
	shape []int64 // nil for a 0-d array (one element)
	body  []byte
}

// npyDescrs maps the .npy descrs vkdemo reads to their dtypes:
// little-endian ('<'), or no order ('|') for one-byte types.
var npyDescrs = map[string]dtype{
	"<f4": f32, "<f8": f64,
	"|i1": i8, "<i1": i8, "|u1": u8, "<u1": u8,
	"<i2": i16, "<u2": u16, "<i4": i32, "<u4": u32, "<i8": i64, "<u8": u64,
}

// parseNpy parses a .npy file (versions 1.0, 2.0 and 3.0) held in data:
// the magic and version, a header of at most maxNpyHeader bytes inside
// data, its dict (a Python literal with exactly the keys 'descr',
// 'fortran_order' and 'shape'), a little-endian descr of a type vkdemo
// knows, a shape of at most maxShapeDims non-negative dimensions whose
// product (checked for overflow) times the element size is exactly the
// length of the data that follows. Fortran order is accepted only where it
// is the same as C order (at most one dimension above 1). Nothing is
// allocated in proportion to what the header claims.
func parseNpy(data []byte) (npyArray, error) {
	var a npyArray
	if len(data) < 10 || string(data[:6]) != npyMagic {
		return a, errors.New("not a .npy file")
	}
	var hlen, start int
	switch major, minor := data[6], data[7]; {
	case major == 1 && minor == 0:
		hlen, start = int(binary.LittleEndian.Uint16(data[8:])), 10
	case (major == 2 || major == 3) && minor == 0:
		if len(data) < 12 {
			return a, errors.New("truncated .npy header")
		}
		h := binary.LittleEndian.Uint32(data[8:])
		if h > maxNpyHeader {
			return a, fmt.Errorf(".npy header of %d bytes: more than the %d vkdemo reads", h, maxNpyHeader)
		}
		hlen, start = int(h), 12
	default:
		return a, fmt.Errorf("unsupported .npy version %d.%d (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if hlen > maxNpyHeader {
		return a, fmt.Errorf(".npy header of %d bytes: more than the %d vkdemo reads", hlen, maxNpyHeader)
	}
	if start+hlen > len(data) {
		return a, fmt.Errorf("truncated .npy header: %d bytes announced, %d present", hlen, len(data)-start)
	}
	d, err := parseNpyDict(string(data[start : start+hlen]))
	if err != nil {
		return a, fmt.Errorf(".npy header: %v", err)
	}
	a.descr, a.shape, a.body = d.descr, d.shape, data[start+hlen:]
	t, ok := npyDescrs[d.descr]
	switch {
	case ok:
		a.typ = t
	case strings.HasPrefix(d.descr, ">"):
		return a, fmt.Errorf(".npy data is big-endian (%s): vkdemo reads little-endian data (numpy: a.astype(a.dtype.newbyteorder('<')))", q(d.descr))
	default:
		return a, fmt.Errorf(".npy dtype %s is not one vkdemo reads (want one of <f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8)", q(d.descr))
	}
	// Elements, overflow-checked, and bytes.
	elems, big := uint64(1), 0
	for _, n := range a.shape {
		hi, lo := bits.Mul64(elems, uint64(n))
		if hi != 0 || lo > 1<<62 {
			return a, fmt.Errorf(".npy shape %s holds more elements than any file can", formatShape(a.shape))
		}
		elems = lo
		if n > 1 {
			big++
		}
	}
	if d.fortran && big > 1 {
		return a, errors.New(".npy file is in Fortran order (numpy: np.ascontiguousarray(a) before np.save)")
	}
	hi, want := bits.Mul64(elems, uint64(a.typ.size()))
	if hi != 0 || want != uint64(len(a.body)) {
		return a, fmt.Errorf(".npy shape %s of %s holds %d bytes of data, but the file has %d after its header", formatShape(a.shape), a.descr, want, len(a.body))
	}
	return a, nil
}

// formatShape writes a shape as numpy does: (2, 3), (5,), ().
func formatShape(shape []int64) string {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	s := strings.Join(dims, ", ")
	if len(shape) == 1 {
		s += ","
	}
	return "(" + s + ")"
}

// npyDict is the dict of a .npy header.
type npyDict struct {
	descr   string
	fortran bool
	shape   []int64
}

// parseNpyDict parses the Python literal of a .npy header: a dict with the
// keys 'descr' (a string), 'fortran_order' (True or False) and 'shape' (a
// tuple of integers), each once, then only spaces and a newline.
func parseNpyDict(h string) (npyDict, error) {
	var d npyDict
	p := &pyLit{s: h}
	if !p.eat('{') {
		return d, errors.New("does not start with a dict")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return d, fmt.Errorf("key: %v", err)
		}
		if seen[key] {
			return d, fmt.Errorf("key %s given twice", q(key))
		}
		seen[key] = true
		if !p.eat(':') {
			return d, fmt.Errorf("no ':' after key %s", q(key))
		}
		switch key {
		case "descr":
			if d.descr, err = p.str(); err != nil {
				return d, fmt.Errorf("descr: %v", err)
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				d.fortran = true
			case p.word("False"):
			default:
				return d, errors.New("fortran_order is not True or False")
			}
		case "shape":
			if d.shape, err = p.shape(); err != nil {
				return d, fmt.Errorf("shape: %v", err)
			}
		default:
			return d, fmt.Errorf("unknown key %s (want descr, fortran_order and shape)", q(key))
		}
		if p.eat(',') {
			continue
		}
		if !p.eat('}') {
			return d, errors.New("want ',' or '}' after a value")
		}
		break
	}
	if len(seen) != 3 {
		return d, errors.New("want the keys descr, fortran_order and shape")
	}
	p.space()
	if p.i != len(p.s) {
		return d, errors.New("data after the dict")
	}
	return d, nil
}

// pyLit scans the Python literals of a .npy header.
type pyLit struct {
	s string
	i int
}

func (p *pyLit) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

// eat skips spaces and c, if c is next.
func (p *pyLit) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// word skips spaces and w, if w is next as a whole word.
func (p *pyLit) word(w string) bool {
	p.space()
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	if j := p.i + len(w); j < len(p.s) && (isAlnum(p.s[j]) || p.s[j] == '_') {
		return false
	}
	p.i += len(w)
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// str scans a quoted string without escapes (all that descrs and keys are).
func (p *pyLit) str() (string, error) {
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", errors.New("want a quoted string")
	}
	quote := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], quote)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	s := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(s, '\\') >= 0 || strings.IndexByte(s, '\n') >= 0 {
		return "", fmt.Errorf("unexpected character in string %s", q(s))
	}
	p.i += end + 2
	return s, nil
}

// shape scans a tuple of at most maxShapeDims non-negative integers: (),
// (5,), (2, 3). Python 2's long suffix (5L) is accepted, as numpy does.
func (p *pyLit) shape() ([]int64, error) {
	if !p.eat('(') {
		return nil, errors.New("not a tuple")
	}
	var dims []int64
	for {
		if p.eat(')') { // (), or after a ',': (5,), (2, 3,)
			return dims, nil
		}
		if len(dims) == maxShapeDims {
			return nil, fmt.Errorf("more than %d dimensions", maxShapeDims)
		}
		p.space()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			return nil, errors.New("want a non-negative integer")
		}
		n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("dimension %s is too large", q(p.s[p.i:j]))
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		dims = append(dims, n)
		if p.eat(',') {
			continue
		}
		if !p.eat(')') {
			return nil, errors.New("want ',' or ')' after a dimension")
		}
		if len(dims) == 1 {
			return nil, errors.New("not a tuple") // (5) is 5 in Python
		}
		return dims, nil
	}
}
