package io

import (
	"fmt"

	stdio "io"
)

// Positional and vectored I/O: preadv and pwritev with a splat, and Readers
// and Writers that keep their own offset instead of the shared file
// position, so that several tasks can stream different ranges of one file
// at once (after Zig's File.Reader and File.Writer in positional mode).

// ReadVecAt fills bufs, in order, from the file at offset off, with
// vectorized positional reads (preadv) that never touch the file position.
// Like io.ReaderAt, it goes on after short reads and returns fewer bytes than
// the buffers hold only with an error: io.EOF (the standard library's) when
// the file ends first. It is a cancel point before each read.
func (f *File) ReadVecAt(x Io, bufs [][]byte, off int64) (int64, error) {
	if err := f.hold("read"); err != nil {
		return 0, err
	}
	defer f.drop()
	if off < 0 {
		return 0, opErr("read", f.name, fmt.Errorf("%w: negative offset %d", ErrInvalid, off))
	}
	rest := nonEmpty(bufs)
	if len(rest) == 0 {
		return 0, nil
	}
	if &rest[0] == &bufs[0] { // advanced below: never modify the caller's vector
		rest = append([][]byte(nil), rest...)
	}
	start := x.start()
	var total int64
	for len(rest) > 0 {
		k, err := x.drv().readv(x.t, f.fd, rest, off+total)
		total += int64(k)
		if err != nil {
			x.observe(start, "file", "preadv", f.name, total, err)
			return total, opErr("read", f.name, err)
		}
		if k == 0 {
			x.observe(start, "file", "preadv", f.name, total, nil)
			return total, stdio.EOF
		}
		for k > 0 {
			if k < len(rest[0]) {
				rest[0] = rest[0][k:]
				break
			}
			k -= len(rest[0])
			rest[0] = nil
			rest = rest[1:]
		}
	}
	x.observe(start, "file", "preadv", f.name, total, nil)
	return total, nil
}

// WriteVecAt writes data[0], ..., data[len-2], then data[len-1] repeated
// splat times (splat may be 0), at offset off, with vectorized positional
// writes (pwritev) that never touch the file position: the stream WriteVec
// writes, placed at off. It goes on after short writes and returns fewer
// bytes than all only with an error. It is a cancel point before each write.
func (f *File) WriteVecAt(x Io, data [][]byte, splat int, off int64) (int64, error) {
	if err := f.hold("write"); err != nil {
		return 0, err
	}
	defer f.drop()
	if off < 0 {
		return 0, opErr("write", f.name, fmt.Errorf("%w: negative offset %d", ErrInvalid, off))
	}
	// Sized up front: one allocation each instead of a doubling series.
	v := &vecs{list: make([][]byte, 0, len(data)), out: make([][]byte, 0, min(len(data)+1, maxIovecs))}
	if err := v.reset(nil, data, splat); err != nil {
		return 0, opErr("write", f.name, err)
	}
	start := x.start()
	pos := off
	total, err := v.writeAll(func(iov [][]byte) (int, error) {
		n, err := x.drv().writev(x.t, f.fd, iov, pos)
		pos += int64(n)
		return n, err
	})
	v.clear()
	x.observe(start, "file", "pwritev", f.name, total, err)
	if err != nil {
		return total, opErr("write", f.name, err)
	}
	return total, nil
}

// WriterAt returns a buffered writer on the file that writes at offset off
// and on from there, for the task whose Io is x: it keeps its own offset
// (Offset) and uses positional writes (pwritev), never the file position,
// so several tasks may each stream their own range of one file at once,
// each with its own WriterAt. buf is its buffer (nil: unbuffered). Flush it
// before Close. A negative off makes every write fail with ErrInvalid.
func (f *File) WriterAt(x Io, off int64, buf []byte) *Writer {
	return NewWriter(&posSink{f: f, x: x, off: off}, buf)
}

// ReaderAt returns a buffered reader of the file from offset off, for the
// task whose Io is x: it keeps its own offset and uses positional reads
// (preadv), never the file position, so several tasks may each read their
// own range of one file at once. buf is its buffer. A negative off makes
// every read fail with ErrInvalid.
func (f *File) ReaderAt(x Io, off int64, buf []byte) *Reader {
	return NewReader(&posSource{f: f, x: x, off: off}, buf)
}

// posSink is the Sink of File.WriterAt.
type posSink struct {
	f   *File
	x   Io
	off int64
	vec vecs
}

// Drain writes the buffered bytes and data with one pwritev at the sink's
// offset, and moves the offset past what was written.
func (s *posSink) Drain(w *Writer, data [][]byte, splat int) (int, error) {
	if err := s.f.hold("write"); err != nil {
		return 0, err
	}
	defer s.f.drop()
	if s.off < 0 {
		return 0, opErr("write", s.f.name, fmt.Errorf("%w: negative offset %d", ErrInvalid, s.off))
	}
	if err := s.vec.reset(w.Buffered(), data, splat); err != nil {
		return 0, opErr("write", s.f.name, err)
	}
	if s.vec.empty() {
		return 0, nil
	}
	start := s.x.start()
	n, err := s.x.drv().writev(s.x.t, s.f.fd, s.vec.iovecs(), s.off)
	s.x.observe(start, "file", "pwritev", s.f.name, int64(n), err)
	s.vec.clear()
	s.off += int64(n)
	if err != nil {
		return n, opErr("write", s.f.name, err)
	}
	return n, nil
}

// posSource is the Source of File.ReaderAt.
type posSource struct {
	f   *File
	x   Io
	off int64
}

// ReadVec fills data with one preadv at the source's offset, and moves the
// offset past what was read.
func (s *posSource) ReadVec(_ *Reader, data [][]byte) (int, error) {
	if err := s.f.hold("read"); err != nil {
		return 0, err
	}
	defer s.f.drop()
	if s.off < 0 {
		return 0, opErr("read", s.f.name, fmt.Errorf("%w: negative offset %d", ErrInvalid, s.off))
	}
	bufs := nonEmpty(data)
	if len(bufs) == 0 {
		return 0, nil
	}
	start := s.x.start()
	n, err := s.x.drv().readv(s.x.t, s.f.fd, bufs, s.off)
	s.x.observe(start, "file", "preadv", s.f.name, int64(n), err)
	s.off += int64(n)
	if err != nil {
		return n, opErr("read", s.f.name, err)
	}
	if n == 0 {
		return 0, stdio.EOF
	}
	return n, nil
}
