package io

import (
	"errors"
	stdio "io"
)

// Sink is the one hook behind a Writer: it moves bytes to wherever they go
// (a file, a socket, a standard io.Writer, a hash).
type Sink interface {
	// Drain writes, in order, w.Buffered() (the bytes held in the buffer),
	// then data[0], ..., data[len(data)-2], then data[len(data)-1] repeated
	// splat times. splat may be 0: then the last slice is not written at all.
	// len(data) >= 1 always; any slice, the buffer included, may be empty.
	//
	// Drain returns the total number of bytes written, counting the buffered
	// bytes first. Fewer than all is fine (a short write): the Writer does the
	// bookkeeping and calls again. Drain must neither modify nor retain w's
	// buffer or data after it returns, and must not call methods of w other
	// than Buffered, Available and Size.
	//
	// Implementations should write everything in one vectorized system call
	// where the OS allows (writev); AppendDrainVec builds such a vector.
	Drain(w *Writer, data [][]byte, splat int) (int, error)
}

// maxEmptyCalls is how many consecutive calls that neither move a byte nor
// return an error a Writer or Reader tolerates before giving up with
// io.ErrNoProgress.
const maxEmptyCalls = 100

// splatScratchSize is the size of the scratch area a Writer uses to expand a
// short pattern repeated many times, so that a Sink sees a few long slices
// rather than millions of tiny ones.
const splatScratchSize = 4096

var (
	errInvalidDrain = errors.New("io: Sink.Drain returned an invalid count")
	errInvalidWrite = errors.New("io: Write returned an invalid count")
)

// Writer is a buffered writer whose buffer lives in the interface, after
// Zig's std.Io.Writer: small writes are copied into the buffer, and whenever
// the data does not fit, the buffered bytes and the new data go to the Sink
// together in one Drain call (one writev), without copying the new data.
//
// Writer implements io.Writer, io.StringWriter, io.ByteWriter and
// io.ReaderFrom. Errors are sticky: after the Sink fails, every later write
// and Flush returns the same error until Reset. A Writer is not safe for
// concurrent use.
type Writer struct {
	buf  []byte
	end  int
	sink Sink
	err  error

	iov     [][]byte // scratch drain vector; cleared before every return
	iovHigh int      // high-water mark of iov in the current call
	one     [1][]byte
	byteBuf [1]byte
	scratch []byte // lazily allocated; splat expansion, unbuffered ReadFrom
}

var (
	_ stdio.Writer       = (*Writer)(nil)
	_ stdio.StringWriter = (*Writer)(nil)
	_ stdio.ByteWriter   = (*Writer)(nil)
	_ stdio.ReaderFrom   = (*Writer)(nil)
)

// NewWriter returns a Writer that drains into s and buffers in buf. buf may
// be nil or empty: then the Writer is unbuffered and every write drains. The
// Writer owns buf from now on.
func NewWriter(s Sink, buf []byte) *Writer {
	return &Writer{buf: buf, sink: s}
}

// Reset discards any buffered data and the sticky error, and makes w drain
// into s, keeping its buffer.
func (w *Writer) Reset(s Sink) {
	w.sink = s
	w.end = 0
	w.err = nil
}

// Buffered returns the bytes waiting in the buffer. The slice aliases the
// buffer and is valid only until the next call of a method of w.
func (w *Writer) Buffered() []byte { return w.buf[:w.end] }

// Available returns how many more bytes fit in the buffer before a write
// has to drain.
func (w *Writer) Available() int { return len(w.buf) - w.end }

// Size returns the size of the buffer.
func (w *Writer) Size() int { return len(w.buf) }

// Err returns the sticky error, or nil.
func (w *Writer) Err() error { return w.err }

// Write writes p. If p fits in the buffer it is copied there; otherwise the
// buffered bytes and p are handed to the Sink in one Drain call (p itself,
// not a copy), repeating after short writes; a tail of p that fits once the
// buffer is empty is buffered. Write returns n < len(p) only with an error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Copy p into the buffer when it fits, unless it would fill an empty buffer
	// by itself: then it goes straight to the Sink, as the copy would buy nothing.
	if len(p) <= len(w.buf)-w.end && (w.end > 0 || len(p) < len(w.buf)) {
		w.end += copy(w.buf[w.end:], p)
		return len(p), nil
	}
	// A write smaller than the buffer that overflows it tops the buffer up and
	// drains exactly one bufferful, so that a stream of small writes reaches
	// the Sink in buffer-sized, aligned pieces (page-aligned file writes are
	// markedly cheaper). Larger writes go out with the buffer in one Drain.
	if len(p) < len(w.buf) {
		n := copy(w.buf[w.end:], p)
		w.end += n
		if err := w.Flush(); err != nil {
			return n, err
		}
		w.end = copy(w.buf, p[n:])
		return len(p), nil
	}
	w.one[0] = p
	return w.drain(w.one[:], 1, len(p))
}

// WriteString writes s like Write. A string longer than the free space is
// streamed through the buffer (a string's bytes cannot be handed to a Sink
// without a copy or unsafe).
func (w *Writer) WriteString(s string) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(s) <= len(w.buf)-w.end {
		w.end += copy(w.buf[w.end:], s)
		return len(s), nil
	}
	if len(w.buf) == 0 {
		w.one[0] = []byte(s) // unbuffered: one copy, one Drain
		return w.drain(w.one[:], 1, len(s))
	}
	// Stream s through the buffer: no allocation, and no unsafe view of s.
	n := 0
	for n < len(s) {
		if w.end == len(w.buf) {
			if err := w.Flush(); err != nil {
				return n, err
			}
		}
		k := copy(w.buf[w.end:], s[n:])
		w.end += k
		n += k
	}
	return n, nil
}

// WriteByte writes one byte.
func (w *Writer) WriteByte(c byte) error {
	if w.err != nil {
		return w.err
	}
	if w.end < len(w.buf) {
		w.buf[w.end] = c
		w.end++
		return nil
	}
	w.byteBuf[0] = c
	w.one[0] = w.byteBuf[:]
	_, err := w.drain(w.one[:], 1, 1)
	return err
}

// WriteVec writes the slices of data in order, as one Drain call with the
// buffered bytes when they do not all fit in the buffer. It returns the
// number of bytes of data written, less than their total only with an error.
func (w *Writer) WriteVec(data [][]byte) (int, error) {
	return w.WriteSplat(data, 1)
}

// WriteSplat writes data[0], ..., data[len(data)-2], then data[len(data)-1]
// repeated splat times (splat 0 writes the last slice not at all). It
// returns the number of bytes written, less than the total only with an
// error. A short pattern repeated many times is expanded into a scratch
// area first, so the Sink sees a few long slices. WriteSplat panics if
// splat is negative or the total length overflows int.
func (w *Writer) WriteSplat(data [][]byte, splat int) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(data) == 0 {
		return 0, nil
	}
	total := splatLen(data, splat)
	if total <= len(w.buf)-w.end {
		w.copySplat(data, splat)
		return total, nil
	}
	last := data[len(data)-1]
	if splat > 1 && len(last) > 0 && len(last) <= splatScratchSize/2 {
		// pattern×splat == pattern×r ++ (pattern×k)×q with splat = k*q + r:
		// the Sink gets one expanded pattern of up to splatScratchSize bytes
		// repeated q times, and never a vector of splat tiny slices.
		k := min(splat, splatScratchSize/len(last))
		exp := w.getScratch()[:k*len(last)]
		fillPattern(exp, last)
		q, r := splat/k, splat%k
		vec := append(w.iov[:0], data[:len(data)-1]...)
		if r > 0 {
			vec = append(vec, exp[:r*len(last)])
		}
		vec = append(vec, exp)
		w.setIov(vec)
		return w.drain(vec, q, total)
	}
	return w.drain(data, splat, total)
}

// SplatByte writes the byte b n times.
func (w *Writer) SplatByte(b byte, n int) (int, error) {
	w.byteBuf[0] = b
	w.one[0] = w.byteBuf[:]
	m, err := w.WriteSplat(w.one[:], n)
	w.one[0] = nil
	return m, err
}

// SplatBytes writes pattern n times.
func (w *Writer) SplatBytes(pattern []byte, n int) (int, error) {
	w.one[0] = pattern
	m, err := w.WriteSplat(w.one[:], n)
	w.one[0] = nil
	return m, err
}

// Flush drains the buffer into the Sink, repeating after short writes, and
// returns the sticky error if there is one.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	empty := 0
	for w.end > 0 {
		w.one[0] = nil
		n, err := w.sink.Drain(w, w.one[:], 0)
		if n < 0 || n > w.end {
			w.err = errInvalidDrain
			return w.err
		}
		w.consume(n)
		if err != nil {
			w.err = err
			return err
		}
		if n > 0 {
			empty = 0
		} else if empty++; empty >= maxEmptyCalls {
			w.err = stdio.ErrNoProgress
			return w.err
		}
	}
	return nil
}

// ReadFrom reads from r into the buffer until io.EOF, draining the buffer
// whenever it is full, and returns the number of bytes read. io.EOF is not
// reported; other errors of r are returned but do not stick to w. An
// unbuffered Writer reads through a small scratch buffer. When r is a
// *Reader, its Source reads straight into w's buffer.
func (w *Writer) ReadFrom(r stdio.Reader) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	if rr, ok := r.(*Reader); ok {
		return rr.WriteTo(w)
	}
	var n int64
	empty := 0
	for {
		dst, err := w.fillSpace()
		if err != nil {
			return n, err
		}
		m, err := r.Read(dst)
		if m < 0 || m > len(dst) {
			return n, errInvalidRead
		}
		if len(w.buf) == 0 {
			k, werr := w.Write(dst[:m])
			n += int64(k)
			if werr != nil {
				return n, werr
			}
		} else {
			w.end += m
			n += int64(m)
		}
		switch {
		case err == stdio.EOF:
			return n, nil
		case err != nil:
			return n, err
		case m > 0:
			empty = 0
		default:
			if empty++; empty >= maxEmptyCalls {
				return n, stdio.ErrNoProgress
			}
		}
	}
}

// drain hands the buffer and data (the last slice repeated splat times,
// total bytes in all) to the Sink until all of data is written or buffered,
// or an error happens. It returns the number of bytes of data written.
func (w *Writer) drain(data [][]byte, splat, total int) (int, error) {
	n, err := w.drainLoop(data, splat, total)
	w.releaseIov()
	return n, err
}

func (w *Writer) drainLoop(data [][]byte, splat, total int) (int, error) {
	written, empty := 0, 0
	for {
		n, err := w.sink.Drain(w, data, splat)
		if n < 0 || n > w.end+total {
			w.err = errInvalidDrain
			return written, w.err
		}
		if k := w.consume(n); k > 0 {
			data, splat = w.advance(data, splat, k)
			written += k
			total -= k
		}
		if err != nil {
			w.err = err
			return written, err
		}
		if total == 0 {
			return written, nil
		}
		if n > 0 {
			empty = 0
		} else if empty++; empty >= maxEmptyCalls {
			w.err = stdio.ErrNoProgress
			return written, w.err
		}
		if total <= len(w.buf)-w.end {
			w.copySplat(data, splat)
			return written + total, nil
		}
	}
}

// consume removes the first n bytes reported written by Drain: the buffered
// bytes first. It returns how many of them came from data.
func (w *Writer) consume(n int) int {
	if n < w.end {
		copy(w.buf, w.buf[n:w.end])
		w.end -= n
		return 0
	}
	n -= w.end
	w.end = 0
	return n
}

// advance returns the drain vector that remains once the first k bytes of
// data (last slice repeated splat times) are written. The result lives in
// w.iov; data is never modified, but may itself be w.iov.
func (w *Writer) advance(data [][]byte, splat, k int) ([][]byte, int) {
	i, n := 0, len(data)-1
	for i < n && k >= len(data[i]) {
		k -= len(data[i])
		i++
	}
	if i < n {
		vec := append(w.iov[:0], data[i:]...) // memmove: data may alias w.iov
		vec[0] = vec[0][k:]
		w.setIov(vec)
		return vec, splat
	}
	last := data[n]
	if len(last) == 0 || splat == 0 {
		return data[n:], 0 // nothing left; k is 0
	}
	full, part := k/len(last), k%len(last)
	if part == 0 {
		w.setIov(append(w.iov[:0], last))
		return w.iov, splat - full
	}
	w.setIov(append(w.iov[:0], last[part:], last))
	return w.iov, splat - full - 1
}

func (w *Writer) setIov(vec [][]byte) {
	w.iov = vec
	w.iovHigh = max(w.iovHigh, len(vec))
}

// releaseIov drops every reference to caller slices held in scratch vectors.
func (w *Writer) releaseIov() {
	clear(w.iov[:w.iovHigh])
	w.iov = w.iov[:0]
	w.iovHigh = 0
	w.one[0] = nil
}

func (w *Writer) getScratch() []byte {
	if len(w.scratch) < splatScratchSize {
		w.scratch = make([]byte, splatScratchSize)
	}
	return w.scratch
}

// fillSpace returns where the next bytes read into the Writer go: the free
// end of the buffer (flushed first when full), or the scratch area when the
// Writer is unbuffered.
func (w *Writer) fillSpace() ([]byte, error) {
	if len(w.buf) == 0 {
		return w.getScratch(), nil
	}
	if w.end == len(w.buf) {
		if err := w.Flush(); err != nil {
			return nil, err
		}
	}
	return w.buf[w.end:], nil
}

// copySplat copies data (last slice repeated splat times) into the buffer;
// the caller has checked that it fits.
func (w *Writer) copySplat(data [][]byte, splat int) {
	n := len(data) - 1
	for _, d := range data[:n] {
		w.end += copy(w.buf[w.end:], d)
	}
	if splat == 0 || len(data[n]) == 0 {
		return
	}
	dst := w.buf[w.end : w.end+len(data[n])*splat]
	fillPattern(dst, data[n])
	w.end += len(dst)
}

// fillPattern fills dst with repetitions of pattern; len(dst) is a multiple
// of len(pattern) > 0.
func fillPattern(dst, pattern []byte) {
	if len(pattern) == 1 {
		b := pattern[0]
		for i := range dst {
			dst[i] = b
		}
		return
	}
	n := copy(dst, pattern)
	for n < len(dst) {
		n += copy(dst[n:], dst[:n])
	}
}

// splatLen returns the number of bytes data with splat stands for.
func splatLen(data [][]byte, splat int) int {
	if splat < 0 {
		panic("io: negative splat count")
	}
	n := len(data) - 1
	total := 0
	for _, d := range data[:n] {
		total += len(d)
	}
	if l := len(data[n]); l > 0 {
		if splat > (int(^uint(0)>>1)-total)/l {
			panic("io: splat length overflows int")
		}
		total += l * splat
	}
	return total
}

// DrainLen returns the number of bytes a Drain(w, data, splat) call stands
// for: the buffered bytes, the slices before the last, and the last one
// splat times. w may be nil.
func DrainLen(w *Writer, data [][]byte, splat int) int {
	n := 0
	if w != nil {
		n = w.end
	}
	if len(data) == 0 {
		return n
	}
	return n + splatLen(data, splat)
}

// AppendDrainVec appends to dst, in order, the non-empty slices a
// Drain(w, data, splat) call must write — w.Buffered(), data[0], ...,
// data[len(data)-2], then data[len(data)-1] splat times — appending at most
// limit slices when limit > 0 (the rest is left for the Writer's next call,
// as a short write). A writev-based Sink passes the result to the kernel,
// with limit set to its IOV_MAX. w may be nil.
func AppendDrainVec(dst [][]byte, w *Writer, data [][]byte, splat, limit int) [][]byte {
	if limit <= 0 {
		limit = int(^uint(0) >> 1)
	}
	start := len(dst)
	add := func(p []byte) bool {
		if len(p) > 0 {
			dst = append(dst, p)
		}
		return len(dst)-start < limit
	}
	if w != nil && !add(w.Buffered()) {
		return dst
	}
	if len(data) == 0 {
		return dst
	}
	n := len(data) - 1
	for _, d := range data[:n] {
		if !add(d) {
			return dst
		}
	}
	if len(data[n]) > 0 {
		for range splat {
			if !add(data[n]) {
				return dst
			}
		}
	}
	return dst
}

// WriterSink returns a Sink that writes into the standard writer wr with one
// Write call per slice (the way net.Buffers does for writers without
// writev): the buffered bytes, each slice, each repetition of the last one.
// A Write that writes less than asked without an error is reported as
// io.ErrShortWrite. It is the baseline against which vectorized sinks are
// measured, and lets a Writer sit on top of any io.Writer.
func WriterSink(wr stdio.Writer) Sink { return writerSink{wr} }

type writerSink struct{ wr stdio.Writer }

func (s writerSink) Drain(w *Writer, data [][]byte, splat int) (int, error) {
	n := 0
	if w != nil && w.end > 0 {
		m, err := writeOnce(s.wr, w.buf[:w.end])
		n += m
		if err != nil {
			return n, err
		}
	}
	last := len(data) - 1
	for _, p := range data[:last] {
		if len(p) == 0 {
			continue
		}
		m, err := writeOnce(s.wr, p)
		n += m
		if err != nil {
			return n, err
		}
	}
	if p := data[last]; len(p) > 0 {
		for range splat {
			m, err := writeOnce(s.wr, p)
			n += m
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func writeOnce(wr stdio.Writer, p []byte) (int, error) {
	m, err := wr.Write(p)
	if m < 0 || m > len(p) {
		return 0, errInvalidWrite
	}
	if m < len(p) && err == nil {
		err = stdio.ErrShortWrite
	}
	return m, err
}
