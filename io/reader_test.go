package io_test

import (
	"bytes"
	"fmt"
	stdio "io"
	"strings"
	"testing"
	"testing/iotest"

	vio "github.com/vkio/vkio/io"
)

// fakeSource is a Source over data that records the slice lengths of each
// ReadVec call, reads at most max bytes per call (0: no limit), fills the
// slices in order like readv, and returns err (default io.EOF) at the end of
// data, together with the last bytes when withData is set.
type fakeSource struct {
	data     []byte
	max      int
	calls    [][]int
	err      error
	withData bool
	zero     bool
	bogus    bool
}

func (s *fakeSource) ReadVec(r *vio.Reader, data [][]byte) (int, error) {
	var lens []int
	total := 0
	for _, d := range data {
		lens = append(lens, len(d))
		total += len(d)
	}
	s.calls = append(s.calls, lens)
	if s.zero {
		return 0, nil
	}
	if s.bogus {
		return total + 1, nil
	}
	end := s.err
	if end == nil {
		end = stdio.EOF
	}
	if len(s.data) == 0 {
		return 0, end
	}
	limit := len(s.data)
	if s.max > 0 {
		limit = min(limit, s.max)
	}
	n := 0
	for _, d := range data {
		if n == limit {
			break
		}
		n += copy(d, s.data[n:limit])
	}
	s.data = s.data[n:]
	if len(s.data) == 0 && s.withData {
		return n, end
	}
	return n, nil
}

func TestReaderReadVecIntoPAndBuffer(t *testing.T) {
	s := &fakeSource{data: []byte("0123456789abcdefghijklmnopqrstuvwxyz")}
	r := vio.NewReader(s, make([]byte, 16))
	p := make([]byte, 4)
	if n, err := r.Read(p); n != 4 || err != nil || string(p) != "0123" {
		t.Fatalf("Read = %d, %v, %q", n, err, p)
	}
	if fmt.Sprint(s.calls) != "[[4 16]]" {
		t.Fatalf("ReadVec calls = %v; want one with [4 16]", s.calls)
	}
	if r.Buffered() != 16 {
		t.Fatalf("Buffered = %d; want 16", r.Buffered())
	}
	// Served from the buffer, no ReadVec.
	for _, want := range []string{"4567", "89ab", "cdef", "ghij"} {
		if n, err := r.Read(p); n != 4 || err != nil || string(p) != want {
			t.Fatalf("Read = %d, %v, %q; want %q", n, err, p, want)
		}
	}
	if len(s.calls) != 1 {
		t.Fatalf("%d ReadVec calls; want 1", len(s.calls))
	}
	// A read as large as the buffer goes straight into p.
	big := make([]byte, 16)
	if n, err := r.Read(big); n != 16 || err != nil || string(big) != "klmnopqrstuvwxyz" {
		t.Fatalf("Read = %d, %v, %q", n, err, big)
	}
	if fmt.Sprint(s.calls[1]) != "[16]" {
		t.Fatalf("calls = %v; want the second to be [16]", s.calls)
	}
	if n, err := r.Read(big); n != 0 || err != stdio.EOF {
		t.Fatalf("Read at end = %d, %v", n, err)
	}
}

func TestReaderReadShortSource(t *testing.T) {
	// The source gives 2 bytes per call: p only partly filled, buffer untouched.
	s := &fakeSource{data: []byte("abcdef"), max: 2}
	r := vio.NewReader(s, make([]byte, 8))
	p := make([]byte, 4)
	if n, err := r.Read(p); n != 2 || err != nil || string(p[:n]) != "ab" || r.Buffered() != 0 {
		t.Fatalf("Read = %d, %v, %q, buffered %d", n, err, p[:n], r.Buffered())
	}
	// p of 1 with max 5: 1 into p, 4 into the buffer.
	s = &fakeSource{data: []byte("abcdefgh"), max: 5}
	r = vio.NewReader(s, make([]byte, 8))
	if n, err := r.Read(p[:1]); n != 1 || err != nil || p[0] != 'a' || r.Buffered() != 4 {
		t.Fatalf("Read = %d, %v, %q, buffered %d", n, err, p[:1], r.Buffered())
	}
	rest, err := stdio.ReadAll(r)
	if string(rest) != "bcdefgh" || err != nil {
		t.Fatalf("ReadAll = %q, %v", rest, err)
	}
}

func TestReaderErrorAfterData(t *testing.T) {
	for _, size := range []int{2, 16} {
		s := &fakeSource{data: []byte("abcdef"), err: errBoom, withData: true}
		r := vio.NewReader(s, make([]byte, size))
		got, err := stdio.ReadAll(r)
		if string(got) != "abcdef" || err != errBoom {
			t.Fatalf("size %d: ReadAll = %q, %v", size, got, err)
		}
	}
	s := &fakeSource{data: []byte("xy"), err: errBoom, withData: true}
	r := vio.NewReader(s, make([]byte, 16))
	for i, want := range []string{"x", "y"} {
		c, err := r.ReadByte()
		if err != nil || string(c) != want {
			t.Fatalf("ReadByte %d = %q, %v", i, c, err)
		}
	}
	if _, err := r.ReadByte(); err != errBoom {
		t.Fatalf("ReadByte at error = %v", err)
	}
}

func TestReaderIotest(t *testing.T) {
	content := []byte(strings.Repeat("Lorem ipsum dolor sit amet. ", 300))
	wrap := map[string]func(stdio.Reader) stdio.Reader{
		"plain":   func(r stdio.Reader) stdio.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
		"dataerr": iotest.DataErrReader,
	}
	for name, wr := range wrap {
		for _, size := range []int{1, 7, 64, 4096, 1 << 16} {
			t.Run(fmt.Sprintf("%s/%d", name, size), func(t *testing.T) {
				r := vio.NewReader(vio.ReaderSource(wr(bytes.NewReader(content))), make([]byte, size))
				if err := iotest.TestReader(r, content); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	for _, max := range []int{0, 1, 3, 100} {
		r := vio.NewReader(&fakeSource{data: content, max: max, withData: true}, make([]byte, 10))
		if err := iotest.TestReader(r, content); err != nil {
			t.Fatalf("fakeSource max %d: %v", max, err)
		}
	}
}

func TestReaderByteAndFull(t *testing.T) {
	r := vio.NewReader(vio.ReaderSource(iotest.OneByteReader(strings.NewReader("hello world"))), make([]byte, 4))
	var got []byte
	for {
		c, err := r.ReadByte()
		if err == stdio.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if string(got) != "hello world" {
		t.Fatalf("ReadByte loop = %q", got)
	}

	r = vio.NewReader(vio.ReaderSource(iotest.HalfReader(strings.NewReader("0123456789"))), make([]byte, 4))
	p := make([]byte, 6)
	if n, err := r.ReadFull(p); n != 6 || err != nil || string(p) != "012345" {
		t.Fatalf("ReadFull = %d, %v, %q", n, err, p)
	}
	if n, err := r.ReadFull(p); n != 4 || err != stdio.ErrUnexpectedEOF || string(p[:n]) != "6789" {
		t.Fatalf("ReadFull short = %d, %v, %q", n, err, p[:n])
	}
	if n, err := r.ReadFull(p); n != 0 || err != stdio.EOF {
		t.Fatalf("ReadFull at EOF = %d, %v", n, err)
	}
	if n, err := r.ReadFull(nil); n != 0 || err != nil {
		t.Fatalf("ReadFull(nil) = %d, %v", n, err)
	}
}

func TestReaderPeek(t *testing.T) {
	r := vio.NewReader(vio.ReaderSource(iotest.OneByteReader(strings.NewReader("abcdefghij"))), make([]byte, 8))
	if _, err := r.Peek(-1); err != vio.ErrNegativeCount {
		t.Fatalf("Peek(-1) = %v", err)
	}
	if p, err := r.Peek(0); len(p) != 0 || err != nil {
		t.Fatalf("Peek(0) = %q, %v", p, err)
	}
	if p, err := r.Peek(5); string(p) != "abcde" || err != nil {
		t.Fatalf("Peek(5) = %q, %v", p, err)
	}
	if p, err := r.Peek(3); string(p) != "abc" || err != nil {
		t.Fatalf("Peek does not consume: Peek(3) = %q, %v", p, err)
	}
	if p, err := r.Peek(9); string(p) != "abcdefgh" || err != vio.ErrBufferFull {
		t.Fatalf("Peek(9) over a buffer of 8 = %q, %v", p, err)
	}
	if n, err := r.Discard(6); n != 6 || err != nil {
		t.Fatalf("Discard(6) = %d, %v", n, err)
	}
	if p, err := r.Peek(4); string(p) != "ghij" || err != nil {
		t.Fatalf("Peek after Discard = %q, %v", p, err)
	}
	if p, err := r.Peek(5); string(p) != "ghij" || err != stdio.EOF {
		t.Fatalf("Peek past the end = %q, %v", p, err)
	}
	if got, _ := stdio.ReadAll(r); string(got) != "ghij" {
		t.Fatalf("rest = %q", got)
	}
}

func TestReaderDiscard(t *testing.T) {
	src := strings.Repeat("x", 100) + "END"
	r := vio.NewReader(vio.ReaderSource(iotest.HalfReader(strings.NewReader(src))), make([]byte, 16))
	if _, err := r.Discard(-1); err != vio.ErrNegativeCount {
		t.Fatalf("Discard(-1) = %v", err)
	}
	if n, err := r.Discard(0); n != 0 || err != nil {
		t.Fatalf("Discard(0) = %d, %v", n, err)
	}
	if n, err := r.Discard(100); n != 100 || err != nil {
		t.Fatalf("Discard(100) = %d, %v", n, err)
	}
	if n, err := r.Discard(10); n != 3 || err != stdio.EOF {
		t.Fatalf("Discard past the end = %d, %v", n, err)
	}
}

func TestReaderReadSlice(t *testing.T) {
	r := vio.NewReader(vio.ReaderSource(iotest.OneByteReader(strings.NewReader("ab,cdefghijk,,lm"))), make([]byte, 8))
	steps := []struct {
		line string
		err  error
	}{
		{"ab,", nil},
		{"cdefghij", vio.ErrBufferFull}, // no delim within a full buffer
		{"k,", nil},
		{",", nil},
		{"lm", stdio.EOF},
		{"", stdio.EOF},
	}
	for i, s := range steps {
		line, err := r.ReadSlice(',')
		if string(line) != s.line || err != s.err {
			t.Fatalf("step %d: ReadSlice = %q, %v; want %q, %v", i, line, err, s.line, s.err)
		}
	}
	// A delim as the very last byte of a full buffer.
	r = vio.NewReader(vio.ReaderSource(strings.NewReader("1234567,rest")), make([]byte, 8))
	if line, err := r.ReadSlice(','); string(line) != "1234567," || err != nil {
		t.Fatalf("ReadSlice = %q, %v", line, err)
	}
	// An error that is not EOF.
	r = vio.NewReader(&fakeSource{data: []byte("abc"), err: errBoom, withData: true}, make([]byte, 8))
	if line, err := r.ReadSlice('\n'); string(line) != "abc" || err != errBoom {
		t.Fatalf("ReadSlice = %q, %v", line, err)
	}
}

func TestReaderWriteTo(t *testing.T) {
	content := strings.Repeat("0123456789", 1000)
	for _, size := range []int{1, 10, 4096} {
		// Into a plain writer.
		r := vio.NewReader(vio.ReaderSource(iotest.HalfReader(strings.NewReader(content))), make([]byte, size))
		r.Peek(1) // something buffered first
		var buf bytes.Buffer
		if n, err := r.WriteTo(&buf); n != int64(len(content)) || err != nil || buf.String() != content {
			t.Fatalf("size %d: WriteTo = %d, %v", size, n, err)
		}
		// Into a *Writer: the source fills the Writer's buffer directly.
		src := &fakeSource{data: []byte(content), max: 333}
		r = vio.NewReader(src, make([]byte, size))
		r.Peek(1)
		sink := &fakeSink{max: 700}
		w := vio.NewWriter(sink, make([]byte, 1000))
		if n, err := stdio.Copy(w, r); n != int64(len(content)) || err != nil {
			t.Fatalf("size %d: Copy = %d, %v", size, n, err)
		}
		w.Flush()
		if sink.out.String() != content {
			t.Fatalf("size %d: Copy into *Writer: wrong output", size)
		}
		// After the Peek, the source reads into the Writer's free space (at
		// most 1000 bytes), not into the Reader's buffer.
		for _, c := range src.calls[1:] {
			if len(c) != 1 || c[0] > 1000 {
				t.Fatalf("size %d: ReadVec into %v", size, c)
			}
		}
	}
	// Writer errors stop WriteTo.
	r := vio.NewReader(vio.ReaderSource(strings.NewReader(content)), make([]byte, 64))
	sw := &shortWriter{max: 10, err: errBoom}
	if n, err := r.WriteTo(sw); n != 10 || err != errBoom {
		t.Fatalf("WriteTo failing writer = %d, %v", n, err)
	}
	r = vio.NewReader(vio.ReaderSource(strings.NewReader(content)), make([]byte, 64))
	if _, err := r.WriteTo(&shortWriter{max: 10}); err != stdio.ErrShortWrite {
		t.Fatalf("WriteTo short writer = %v", err)
	}
	w := vio.NewWriter(&fakeSink{failAt: 1, err: errBoom}, make([]byte, 16))
	r = vio.NewReader(vio.ReaderSource(strings.NewReader(content)), make([]byte, 64))
	if _, err := r.WriteTo(w); err != errBoom {
		t.Fatalf("WriteTo failing *Writer = %v", err)
	}
	// Source errors are returned; EOF is not.
	r = vio.NewReader(&fakeSource{data: []byte("abc"), err: errBoom}, make([]byte, 64))
	var buf bytes.Buffer
	if n, err := r.WriteTo(&buf); n != 3 || err != errBoom {
		t.Fatalf("WriteTo failing source = %d, %v", n, err)
	}
	r = vio.NewReader(&fakeSource{data: []byte("abc"), err: errBoom}, make([]byte, 64))
	w = vio.NewWriter(vio.WriterSink(&buf), make([]byte, 64))
	if n, err := r.WriteTo(w); n != 3 || err != errBoom {
		t.Fatalf("WriteTo *Writer, failing source = %d, %v", n, err)
	}
}

func TestReaderNoProgress(t *testing.T) {
	r := vio.NewReader(&fakeSource{zero: true}, make([]byte, 8))
	if _, err := r.Read(make([]byte, 4)); err != stdio.ErrNoProgress {
		t.Fatalf("Read = %v; want ErrNoProgress", err)
	}
	if _, err := r.ReadByte(); err != stdio.ErrNoProgress {
		t.Fatalf("ReadByte = %v; want ErrNoProgress", err)
	}
	r = vio.NewReader(&fakeSource{bogus: true}, make([]byte, 8))
	if _, err := r.Read(make([]byte, 4)); err == nil {
		t.Fatal("Read with an invalid ReadVec count succeeded")
	}
}

func TestReaderResetAndDefaults(t *testing.T) {
	r := vio.NewReader(vio.ReaderSource(strings.NewReader("abc")), nil)
	if r.Size() != 4096 {
		t.Fatalf("default Size = %d", r.Size())
	}
	r.Peek(1)
	r.Reset(vio.ReaderSource(strings.NewReader("xyz")))
	if r.Buffered() != 0 {
		t.Fatal("Reset kept buffered bytes")
	}
	if got, _ := stdio.ReadAll(r); string(got) != "xyz" {
		t.Fatalf("after Reset: %q", got)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
}

func TestReaderSourceScatter(t *testing.T) {
	src := vio.ReaderSource(strings.NewReader("0123456789ABCDEFGHIJ"))
	a, b, c := make([]byte, 3), []byte(nil), make([]byte, 10)
	n, err := src.ReadVec(nil, [][]byte{a, b, c})
	if n != 10 || err != nil || string(a) != "012" || string(c[:7]) != "3456789" {
		t.Fatalf("ReadVec = %d, %v, %q %q", n, err, a, c[:7])
	}
	// The last slice is no larger than the rest: read into the first.
	a, c = make([]byte, 4), make([]byte, 2)
	if n, err := src.ReadVec(nil, [][]byte{nil, a, c}); n != 4 || err != nil || string(a) != "ABCD" {
		t.Fatalf("ReadVec = %d, %v, %q", n, err, a)
	}
	// Short read from the underlying reader: all of it into the prefix.
	src = vio.ReaderSource(iotest.OneByteReader(strings.NewReader("xyz")))
	a, c = make([]byte, 2), make([]byte, 10)
	if n, err := src.ReadVec(nil, [][]byte{a, c}); n != 1 || err != nil || a[0] != 'x' {
		t.Fatalf("ReadVec = %d, %v, %q", n, err, a)
	}
	if n, err := src.ReadVec(nil, [][]byte{nil}); n != 0 || err != nil {
		t.Fatalf("ReadVec of nothing = %d, %v", n, err)
	}
}
