package main

import (
	"github.com/vkio/vkio/npy"
)

// .npy files are read and written by package npy; these adapt it to the
// binding element types (dtype).

const npyMagic = npy.Magic

// npyHeader returns the .npy (version 1.0) header for a C-order array of
// type t and shape shape (at most npy.MaxDims non-negative dimensions, as
// parseShape makes them, or one count), padded so that the data starts at
// a multiple of 64. It is nil for any other shape (npy.Header's error),
// which no caller makes.
func npyHeader(t dtype, shape []int64) []byte {
	h, err := npy.Header(t.NpyDescr(), shape)
	if err != nil {
		return nil
	}
	return h
}

// npyArray is a parsed .npy file: the element type, the shape and the data,
// a slice of the file's bytes (nothing is copied).
type npyArray struct {
	descr string  // as the file gives it, for messages
	typ   dtype   // the descr's dtype
	shape []int64 // nil for a 0-d array (one element)
	body  []byte
}

// npyDescrs maps the .npy descrs npy reads to their dtypes.
var npyDescrs = map[string]dtype{
	"<f4": f32, "<f8": f64,
	"|i1": i8, "<i1": i8, "|u1": u8, "<u1": u8,
	"<i2": i16, "<u2": u16, "<i4": i32, "<u4": u32, "<i8": i64, "<u8": u64,
}

// parseNpy parses a .npy file held in data (see npy.Read).
func parseNpy(data []byte) (npyArray, error) {
	a, err := npy.Read(data)
	if err != nil {
		return npyArray{}, err
	}
	return npyArray{descr: a.Descr, typ: npyDescrs[a.Descr], shape: a.Shape, body: a.Data}, nil
}
