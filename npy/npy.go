// Package npy reads and writes NumPy's .npy files (format versions 1.0, 2.0
// and 3.0): the room where vkio turns arrays on disk or in a request into
// bytes for a GPU buffer, and a buffer's bytes back into a file numpy loads.
//
// The reader is strict and made for untrusted input: a header of at most
// MaxHeader bytes, exactly the keys descr, fortran_order and shape, a
// little-endian descr of a fixed-size number type, at most MaxDims
// dimensions whose product (checked for overflow) times the element size is
// exactly the length of the data that follows. Nothing is allocated in
// proportion to what a header claims, and the data returned is a slice of
// the input, not a copy.
//
// The package knows nothing of GPUs: an array is a descr string ("<f4"),
// a shape and its bytes.
package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	goio "io"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Magic starts every .npy file.
const Magic = "\x93NUMPY"

// Caps of the reader.
const (
	// MaxHeader bounds a .npy file's header (its dict): numpy writes well
	// under 1 KiB.
	MaxHeader = 64 << 10
	// MaxDims bounds the dimensions of a shape (read or written).
	MaxDims = 32
)

// ErrFormat is wrapped by every error about a malformed or unsupported
// .npy file.
var ErrFormat = errors.New("npy: bad file")

// Error is an error of the reader or writer: Op says what was being done
// ("read", "header"), Msg what was wrong. It wraps ErrFormat.
type Error struct {
	Op  string
	Msg string
}

// Error returns the message (without the Op, so that callers can prefix
// their own context: a path, a part name).
func (e *Error) Error() string { return e.Msg }

// Unwrap returns ErrFormat.
func (e *Error) Unwrap() error { return ErrFormat }

func errorf(op, format string, args ...any) error {
	return &Error{Op: op, Msg: fmt.Sprintf(format, args...)}
}

// Array is a parsed .npy file: its element type, shape and data.
type Array struct {
	// Descr is numpy's dtype string as the file gives it: "<f4", "|u1".
	Descr string
	// Shape is nil for a 0-d array (one element).
	Shape []int64
	// FortranOrder is the header's fortran_order. Read accepts it only
	// where it is the same as C order (at most one dimension above 1).
	FortranOrder bool
	// Data is the array's bytes, little-endian, a slice of the input.
	Data []byte
}

// descrSizes maps the descrs the package reads to their element sizes:
// little-endian ('<'), or no order ('|') for one-byte types; "|b1" is
// numpy's bool, one byte of 0 or 1 (Read does not check the values).
var descrSizes = map[string]int{
	"<f4": 4, "<f8": 8,
	"|i1": 1, "<i1": 1, "|u1": 1, "<u1": 1, "|b1": 1,
	"<i2": 2, "<u2": 2, "<i4": 4, "<u4": 4, "<i8": 8, "<u8": 8,
}

// Descrs lists the descrs Read accepts, for messages.
const Descrs = "<f4 <f8 |i1 |u1 |b1 <i2 <u2 <i4 <u4 <i8 <u8"

// ItemSize returns the size in bytes of one element of descr, and whether
// the package reads descr at all.
func ItemSize(descr string) (int, bool) {
	n, ok := descrSizes[descr]
	return n, ok
}

// Read parses a .npy file held in data. The Array's Data is a slice of data.
func Read(data []byte) (Array, error) {
	var a Array
	if len(data) < 10 || string(data[:6]) != Magic {
		return a, errorf("read", "not a .npy file")
	}
	var hlen, start int
	switch major, minor := data[6], data[7]; {
	case major == 1 && minor == 0:
		hlen, start = int(binary.LittleEndian.Uint16(data[8:])), 10
	case (major == 2 || major == 3) && minor == 0:
		if len(data) < 12 {
			return a, errorf("read", "truncated .npy header")
		}
		h := binary.LittleEndian.Uint32(data[8:])
		if h > MaxHeader {
			return a, errorf("read", ".npy header of %d bytes: more than the %d this package reads", h, MaxHeader)
		}
		hlen, start = int(h), 12
	default:
		return a, errorf("read", "unsupported .npy version %d.%d (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if hlen > MaxHeader {
		return a, errorf("read", ".npy header of %d bytes: more than the %d this package reads", hlen, MaxHeader)
	}
	if start+hlen > len(data) {
		return a, errorf("read", "truncated .npy header: %d bytes announced, %d present", hlen, len(data)-start)
	}
	d, err := parseDict(string(data[start : start+hlen]))
	if err != nil {
		return a, errorf("header", ".npy header: %v", err)
	}
	a.Descr, a.Shape, a.FortranOrder, a.Data = d.descr, d.shape, d.fortran, data[start+hlen:]
	size, ok := descrSizes[d.descr]
	switch {
	case ok:
	case strings.HasPrefix(d.descr, ">"):
		return a, errorf("read", ".npy data is big-endian (%s): npy reads little-endian data (numpy: a.astype(a.dtype.newbyteorder('<')))", q(d.descr))
	default:
		return a, errorf("read", ".npy dtype %s is not one npy reads (want one of %s)", q(d.descr), Descrs)
	}
	// Elements, overflow-checked, and bytes.
	elems, big := uint64(1), 0
	for _, n := range a.Shape {
		hi, lo := bits.Mul64(elems, uint64(n))
		if hi != 0 || lo > 1<<62 {
			return a, errorf("read", ".npy shape %s holds more elements than any file can", FormatShape(a.Shape))
		}
		elems = lo
		if n > 1 {
			big++
		}
	}
	if d.fortran && big > 1 {
		return a, errorf("read", ".npy file is in Fortran order (numpy: np.ascontiguousarray(a) before np.save)")
	}
	hi, want := bits.Mul64(elems, uint64(size))
	if hi != 0 || want != uint64(len(a.Data)) {
		return a, errorf("read", ".npy shape %s of %s holds %d bytes of data, but the file has %d after its header", FormatShape(a.Shape), a.Descr, want, len(a.Data))
	}
	return a, nil
}

// Header returns the .npy (version 1.0) header of a C-order array of descr
// and shape, padded so that the data starts at a multiple of 64 bytes, as
// numpy writes it. It fails for a descr the package does not read, more
// than MaxDims dimensions or a negative one.
func Header(descr string, shape []int64) ([]byte, error) {
	if _, ok := descrSizes[descr]; !ok {
		return nil, errorf("header", "dtype %s is not one the package writes (want one of %s)", q(descr), Descrs)
	}
	if len(shape) > MaxDims {
		return nil, errorf("header", "shape of %d dimensions: more than %d", len(shape), MaxDims)
	}
	for _, d := range shape {
		if d < 0 {
			return nil, errorf("header", "shape %s has a negative dimension", FormatShape(shape))
		}
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, FormatShape(shape))
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	h := make([]byte, 0, 10+len(dict))
	h = append(h, Magic...)
	h = append(h, 1, 0)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)))
	return append(h, dict...), nil
}

// Write writes a .npy file of descr and shape holding data, which must be
// exactly the shape's elements (little-endian, C order).
func Write(w goio.Writer, descr string, shape []int64, data []byte) error {
	h, err := Header(descr, shape)
	if err != nil {
		return err
	}
	size, _ := descrSizes[descr]
	elems := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(elems, uint64(d))
		if hi != 0 || lo > 1<<62 {
			return errorf("write", "shape %s holds more elements than any file can", FormatShape(shape))
		}
		elems = lo
	}
	if elems*uint64(size) != uint64(len(data)) {
		return errorf("write", "shape %s of %s holds %d bytes, but the data has %d", FormatShape(shape), descr, elems*uint64(size), len(data))
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// FormatShape writes a shape as numpy does: (2, 3), (5,), ().
func FormatShape(shape []int64) string {
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

// maxQuote is how much of an input an error message quotes.
const maxQuote = 64

// q quotes s for an error message, cut to maxQuote bytes with "…".
func q(s string) string {
	if len(s) <= maxQuote {
		return strconv.Quote(s)
	}
	cut := maxQuote
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
