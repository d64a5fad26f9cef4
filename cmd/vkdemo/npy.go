package main

import (
	"github.com/vkio/vkio/job"
	"github.com/vkio/vkio/npy"
)

// .npy files are read and written by package npy; these adapt it to the
// binding element types (dtype).

// npyHeader returns the .npy (version 1.0) header for a C-order array of
// type t and shape shape (at most npy.MaxDims non-negative dimensions, as
// job.ParseShape makes them, or one count), padded so that the data starts at
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

// parseNpy parses a .npy file held in data (see npy.Read).
func parseNpy(data []byte) (npyArray, error) {
	a, err := npy.Read(data)
	if err != nil {
		return npyArray{}, err
	}
	t, _ := job.DTypeOfNpy(a.Descr) // every descr npy.Read takes has one
	return npyArray{descr: a.Descr, typ: t, shape: a.Shape, body: a.Data}, nil
}
