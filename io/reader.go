package io

import (
	"bytes"
	"errors"
	stdio "io"
)

// Source is the one hook behind a Reader: it brings bytes in from wherever
// they come from (a file, a socket, a standard io.Reader).
type Source interface {
	// ReadVec fills data[0], then data[1], ... as one vectorized read (readv)
	// where the OS allows, and returns the total number of bytes read, which
	// may be fewer than asked (a short read). At the end of the stream it
	// returns 0, io.EOF. It may return n > 0 together with an error; the
	// Reader then delivers the error after the data. ReadVec must not retain
	// data after it returns, and must not call methods of r.
	ReadVec(r *Reader, data [][]byte) (int, error)
}

// defaultReaderSize is the buffer size NewReader allocates when given none.
const defaultReaderSize = 4096

var (
	// ErrBufferFull is returned by Peek and ReadSlice when the request
	// cannot be satisfied within the Reader's buffer.
	ErrBufferFull = errors.New("io: buffer full")
	// ErrNegativeCount is returned by Peek and Discard for a negative count.
	ErrNegativeCount = errors.New("io: negative count")

	errInvalidRead = errors.New("io: read returned an invalid count")
)

// Reader is a buffered reader whose buffer lives in the interface, after
// Zig's std.Io.Reader. When its buffer is empty, Read asks the Source for
// the caller's slice and the buffer in one ReadVec call (one readv), so a
// small read also refills the buffer, and a read at least as large as the
// buffer goes straight into the caller's slice.
//
// Reader implements io.Reader, io.ByteReader and io.WriterTo. An error from
// the Source is returned once the data read before it are consumed, then
// forgotten, so a later call asks the Source again (as bufio.Reader does).
// A Reader is not safe for concurrent use.
type Reader struct {
	buf       []byte
	seek, end int // buf[seek:end] are the buffered bytes
	src       Source
	err       error // pending error, returned once the buffer is empty

	iov [2][]byte
}

var (
	_ stdio.Reader     = (*Reader)(nil)
	_ stdio.ByteReader = (*Reader)(nil)
	_ stdio.WriterTo   = (*Reader)(nil)
)

// NewReader returns a Reader that reads from s and buffers in buf. If buf is
// nil or empty, a buffer of 4096 bytes is allocated. The Reader owns buf
// from now on.
func NewReader(s Source, buf []byte) *Reader {
	if len(buf) == 0 {
		buf = make([]byte, defaultReaderSize)
	}
	return &Reader{buf: buf, src: s}
}

// Reset discards any buffered data and pending error and makes r read from
// s, keeping its buffer.
func (r *Reader) Reset(s Source) {
	r.src = s
	r.seek, r.end = 0, 0
	r.err = nil
}

// Buffered returns the number of bytes that can be read from the buffer
// without calling the Source.
func (r *Reader) Buffered() int { return r.end - r.seek }

// Size returns the size of the buffer.
func (r *Reader) Size() int { return len(r.buf) }

// Read reads up to len(p) bytes into p. Buffered bytes are served first,
// without calling the Source. When the buffer is empty, p and the buffer are
// filled by one ReadVec call (p first), or, when len(p) >= the buffer size,
// p alone.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		if r.Buffered() > 0 {
			return 0, nil
		}
		return 0, r.readErr()
	}
	if r.seek < r.end {
		n := copy(p, r.buf[r.seek:r.end])
		r.seek += n
		return n, nil
	}
	if r.err != nil {
		return 0, r.readErr()
	}
	r.seek, r.end = 0, 0
	var n int
	var err error
	if len(p) >= len(r.buf) {
		r.iov[0] = p
		n, err = r.readVec(r.iov[:1], len(p))
	} else {
		r.iov[0], r.iov[1] = p, r.buf
		n, err = r.readVec(r.iov[:2], len(p)+len(r.buf))
	}
	r.iov[0], r.iov[1] = nil, nil
	if n > len(p) {
		r.end = n - len(p)
		n = len(p)
	}
	if n > 0 && err != nil {
		r.err = err // deliver the data now, the error after it
		err = nil
	}
	return n, err
}

// ReadByte reads and returns one byte.
func (r *Reader) ReadByte() (byte, error) {
	for r.seek == r.end {
		if r.err != nil {
			return 0, r.readErr()
		}
		r.fill()
	}
	c := r.buf[r.seek]
	r.seek++
	return c, nil
}

// ReadFull reads exactly len(p) bytes into p. It returns io.EOF if no byte
// was read before the end of the stream and io.ErrUnexpectedEOF if some
// were, like io.ReadFull.
func (r *Reader) ReadFull(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil { // Read returns an error only with no data
			if err == stdio.EOF && n > 0 {
				err = stdio.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	return n, nil
}

// Peek returns the next n bytes without consuming them. The slice aliases
// the buffer and is valid only until the next read. If fewer than n bytes
// are returned, so is an error: ErrBufferFull when n exceeds the buffer
// size, otherwise the error that stopped the read.
func (r *Reader) Peek(n int) ([]byte, error) {
	if n < 0 {
		return nil, ErrNegativeCount
	}
	for r.end-r.seek < n && r.end-r.seek < len(r.buf) && r.err == nil {
		r.fill()
	}
	if n > len(r.buf) {
		return r.buf[r.seek:r.end], ErrBufferFull
	}
	if avail := r.end - r.seek; avail < n {
		err := r.readErr()
		if err == nil {
			err = ErrBufferFull
		}
		return r.buf[r.seek:r.end], err
	}
	return r.buf[r.seek : r.seek+n], nil
}

// Discard skips the next n bytes and returns how many were skipped, fewer
// than n only with an error.
func (r *Reader) Discard(n int) (int, error) {
	if n < 0 {
		return 0, ErrNegativeCount
	}
	remain := n
	for {
		skip := min(r.end-r.seek, remain)
		r.seek += skip
		remain -= skip
		if remain == 0 {
			return n, nil
		}
		if r.err != nil {
			return n - remain, r.readErr()
		}
		r.fill()
	}
}

// ReadSlice reads until the first occurrence of delim and returns the bytes
// up to and including it. The slice aliases the buffer and is valid only
// until the next read. If the buffer fills without a delim, ReadSlice
// returns the full buffer and ErrBufferFull; if the stream ends or fails
// first, it returns the bytes read and the error (io.EOF at the end).
func (r *Reader) ReadSlice(delim byte) ([]byte, error) {
	searched := 0
	for {
		if i := bytes.IndexByte(r.buf[r.seek+searched:r.end], delim); i >= 0 {
			line := r.buf[r.seek : r.seek+searched+i+1]
			r.seek += searched + i + 1
			return line, nil
		}
		if r.err != nil {
			line := r.buf[r.seek:r.end]
			r.seek = r.end
			return line, r.readErr()
		}
		if r.end-r.seek == len(r.buf) {
			r.seek = r.end
			return r.buf, ErrBufferFull
		}
		searched = r.end - r.seek
		r.fill()
	}
}

// WriteTo writes the buffered bytes and then everything the Source yields
// to w, until io.EOF, which is not reported. When w is a *Writer, the Source
// reads straight into w's buffer, saving a copy.
func (r *Reader) WriteTo(w stdio.Writer) (int64, error) {
	var n int64
	if r.seek < r.end {
		m, err := w.Write(r.buf[r.seek:r.end])
		if m < 0 || m > r.end-r.seek {
			return n, errInvalidWrite
		}
		r.seek += m
		n += int64(m)
		if err != nil {
			return n, err
		}
		if r.seek < r.end {
			return n, stdio.ErrShortWrite
		}
	}
	if vw, ok := w.(*Writer); ok && len(vw.buf) > 0 {
		return r.writeToWriter(vw, n)
	}
	for {
		if r.err != nil {
			err := r.readErr()
			if err == stdio.EOF {
				err = nil
			}
			return n, err
		}
		r.seek, r.end = 0, 0
		r.fill()
		if r.end > 0 {
			m, err := w.Write(r.buf[:r.end])
			if m < 0 || m > r.end {
				return n, errInvalidWrite
			}
			r.seek = m
			n += int64(m)
			if err != nil {
				return n, err
			}
			if m < r.end {
				return n, stdio.ErrShortWrite
			}
		}
	}
}

// writeToWriter is WriteTo for a buffered *Writer, r's buffer being empty:
// the Source fills w's buffer directly.
func (r *Reader) writeToWriter(w *Writer, n int64) (int64, error) {
	for {
		if r.err != nil {
			err := r.readErr()
			if err == stdio.EOF {
				err = nil
			}
			return n, err
		}
		if w.err != nil {
			return n, w.err
		}
		if w.end == len(w.buf) {
			if err := w.Flush(); err != nil {
				return n, err
			}
		}
		r.iov[0] = w.buf[w.end:]
		m, err := r.readVec(r.iov[:1], len(w.buf)-w.end)
		r.iov[0] = nil
		w.end += m
		n += int64(m)
		if err != nil {
			r.err = err
		}
	}
}

// fill reads more into the buffer, which must not be full, after moving
// the buffered bytes to its start. Errors are kept in r.err.
func (r *Reader) fill() {
	if r.seek > 0 {
		copy(r.buf, r.buf[r.seek:r.end])
		r.end -= r.seek
		r.seek = 0
	}
	r.iov[0] = r.buf[r.end:]
	n, err := r.readVec(r.iov[:1], len(r.buf)-r.end)
	r.iov[0] = nil
	r.end += n
	if err != nil {
		r.err = err
	}
}

// readVec calls the Source until it returns a byte or an error.
func (r *Reader) readVec(data [][]byte, total int) (int, error) {
	for range maxEmptyCalls {
		n, err := r.src.ReadVec(r, data)
		if n < 0 || n > total {
			return 0, errInvalidRead
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, stdio.ErrNoProgress
}

func (r *Reader) readErr() error {
	err := r.err
	r.err = nil
	return err
}

// ReaderSource returns a Source that reads from the standard reader rd with
// exactly one Read call per ReadVec, so that it never blocks once some data
// has arrived. When the last slice of the vector is larger than all the
// others together (the caller's slice followed by a Reader's buffer), it
// reads into the last slice and scatters the bytes into place, so that a
// small read still refills the buffer; otherwise it reads into the first
// non-empty slice.
func ReaderSource(rd stdio.Reader) Source { return readerSource{rd} }

type readerSource struct{ rd stdio.Reader }

func (s readerSource) ReadVec(_ *Reader, data [][]byte) (int, error) {
	return readScatter(s.rd, data)
}

// readScatter is a Source's ReadVec over rd for a source with no vectorized
// read (ReaderSource, a Conn): exactly one rd.Read, into the last non-empty
// slice when it is larger than the others together, the bytes then moved
// into place (the earlier slices first), otherwise into the first non-empty
// slice.
func readScatter(rd stdio.Reader, data [][]byte) (int, error) {
	j := len(data) - 1
	for j >= 0 && len(data[j]) == 0 {
		j--
	}
	if j < 0 {
		return 0, nil
	}
	prefix, first := 0, j
	for i := j - 1; i >= 0; i-- {
		if len(data[i]) > 0 {
			prefix += len(data[i])
			first = i
		}
	}
	if first == j || len(data[j]) <= prefix {
		return readOnce(rd, data[first])
	}
	last := data[j]
	n, err := readOnce(rd, last)
	off := 0
	for i := 0; i < j && off < n; i++ {
		off += copy(data[i], last[off:n])
	}
	if n > prefix {
		copy(last, last[prefix:n])
	}
	return n, err
}

func readOnce(rd stdio.Reader, p []byte) (int, error) {
	n, err := rd.Read(p)
	if n < 0 || n > len(p) {
		return 0, errInvalidRead
	}
	return n, err
}
