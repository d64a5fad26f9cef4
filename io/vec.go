package io

import (
	"fmt"
	stdio "io"
)

// vecs is the byte stream of one vectorized write: some slices, then a pattern
// repeated a number of times (the splat). iovecs hands out the next slices to
// write, at most maxIovecs of them; advance consumes what a short write wrote.
// Small patterns repeated many times are expanded into a chunk of repetitions, so
// that a 1-byte pattern repeated a million times takes a few slices, not a million.
type vecs struct {
	list   [][]byte // slices still to write; the first may be partly consumed
	pat    []byte   // the repeated pattern
	patRem int64    // pattern bytes still to write; the stream ends on a repetition boundary
	chunk  []byte   // pat repeated, for small patterns
	out    [][]byte // scratch for iovecs
}

// chunkBytes is the size of the expanded chunk used for small repeated patterns.
const chunkBytes = 64 << 10

func newVecs(prefix []byte, data [][]byte, splat int) (*vecs, error) {
	v := new(vecs)
	return v, v.reset(prefix, data, splat)
}

// reset prepares the stream prefix, data[:len-1], data[len-1] × splat.
func (v *vecs) reset(prefix []byte, data [][]byte, splat int) error {
	if splat < 0 {
		return fmt.Errorf("%w: negative splat %d", ErrInvalid, splat)
	}
	v.clear()
	if len(prefix) > 0 {
		v.list = append(v.list, prefix)
	}
	if len(data) == 0 {
		return nil
	}
	for _, b := range data[:len(data)-1] {
		if len(b) > 0 {
			v.list = append(v.list, b)
		}
	}
	v.pat = data[len(data)-1]
	v.patRem = int64(len(v.pat)) * int64(splat)
	if len(v.pat) > 0 && splat > 2 && len(v.pat) <= chunkBytes/4 {
		reps := min(splat, chunkBytes/len(v.pat))
		v.chunk = v.chunk[:0]
		for range reps {
			v.chunk = append(v.chunk, v.pat...)
		}
	}
	return nil
}

// writeAll writes everything v holds through write, which makes one
// vectorized write: it goes on after short writes, and a write of 0 bytes
// without an error is io.ErrShortWrite (going on would never end). It
// returns the bytes written, fewer than all only with an error.
func (v *vecs) writeAll(write func(iov [][]byte) (int, error)) (int64, error) {
	var total int64
	for !v.empty() {
		n, err := write(v.iovecs())
		v.advance(n)
		total += int64(n)
		if err == nil && n == 0 {
			err = stdio.ErrShortWrite
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (v *vecs) empty() bool { return len(v.list) == 0 && v.patRem == 0 }

// clear drops every reference to the caller's memory.
func (v *vecs) clear() {
	clear(v.list)
	v.list = v.list[:0]
	clear(v.out)
	v.out = v.out[:0]
	v.pat = nil
	v.patRem = 0
	v.chunk = v.chunk[:0]
}

// iovecs returns the next slices to write: all of the stream, or the first
// maxIovecs slices of it. The result is valid until the next call.
func (v *vecs) iovecs() [][]byte {
	out := v.out[:0]
	for _, b := range v.list {
		if len(out) == maxIovecs {
			v.out = out
			return out
		}
		out = append(out, b)
	}
	if v.patRem > 0 {
		p := int64(len(v.pat))
		rem := v.patRem
		if phase := (p - rem%p) % p; phase > 0 { // finish a repetition begun by a short write
			out = append(out, v.pat[phase:])
			rem -= p - phase
		}
		unit := v.pat
		if len(v.chunk) > 0 {
			unit = v.chunk
		}
		for rem > 0 && len(out) < maxIovecs {
			k := min(int64(len(unit)), rem)
			out = append(out, unit[:k])
			rem -= k
		}
	}
	v.out = out
	return out
}

// advance consumes n written bytes from the front of the stream.
func (v *vecs) advance(n int) {
	for n > 0 && len(v.list) > 0 {
		if n >= len(v.list[0]) {
			n -= len(v.list[0])
			v.list[0] = nil
			v.list = v.list[1:]
		} else {
			v.list[0] = v.list[0][n:]
			n = 0
		}
	}
	v.patRem -= int64(n)
	if v.patRem < 0 {
		v.patRem = 0
	}
}
