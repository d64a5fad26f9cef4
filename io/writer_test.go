package io_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	stdio "io"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"weak"

	vio "github.com/vkio/vkio/io"
)

// drainCall records one Drain call as the sink saw it.
type drainCall struct {
	buffered int
	lens     []int
	splat    int
}

// fakeSink is a Sink that records its calls, accepts at most max bytes per
// Drain (0: no limit) and fails on call failAt (1-based; 0: never) after
// writing failBytes bytes of that call.
type fakeSink struct {
	out       bytes.Buffer
	max       int
	calls     []drainCall
	failAt    int
	failBytes int
	err       error
	zero      bool // return 0, nil forever
	nolog     bool // count calls but do not record them
	ncalls    int
	bogus     bool // return more than asked
}

func (s *fakeSink) Drain(w *vio.Writer, data [][]byte, splat int) (int, error) {
	if len(data) == 0 {
		panic("Drain called with empty data")
	}
	if !s.nolog {
		c := drainCall{buffered: len(w.Buffered()), splat: splat}
		for _, d := range data {
			c.lens = append(c.lens, len(d))
		}
		s.calls = append(s.calls, c)
	}
	s.ncalls++
	if s.zero {
		return 0, nil
	}
	if s.bogus {
		return vio.DrainLen(w, data, splat) + 1, nil
	}
	limit := s.max
	var err error
	if s.failAt == s.ncalls {
		limit, err = s.failBytes, s.err
	}
	if limit <= 0 && err == nil {
		limit = int(^uint(0) >> 1)
	}
	n := 0
	put := func(p []byte) bool {
		take := min(len(p), limit-n)
		s.out.Write(p[:take])
		n += take
		return n < limit
	}
	if !put(w.Buffered()) {
		return n, err
	}
	last := len(data) - 1
	for _, d := range data[:last] {
		if !put(d) {
			return n, err
		}
	}
	if len(data[last]) > 0 {
		for range splat {
			if !put(data[last]) {
				return n, err
			}
		}
	}
	return n, err
}

// op is one operation on a Writer and, in parallel, on the expected output.
type op struct {
	name string
	do   func(w *vio.Writer) (int, error)
	want []byte
}

func opWrite(p string) op {
	return op{"Write", func(w *vio.Writer) (int, error) { return w.Write([]byte(p)) }, []byte(p)}
}

func opString(p string) op {
	return op{"WriteString", func(w *vio.Writer) (int, error) { return w.WriteString(p) }, []byte(p)}
}

func opByte(c byte) op {
	return op{"WriteByte", func(w *vio.Writer) (int, error) { return 1, w.WriteByte(c) }, []byte{c}}
}

func opSplat(splat int, parts ...string) op {
	var want []byte
	for _, p := range parts[:len(parts)-1] {
		want = append(want, p...)
	}
	want = append(want, bytes.Repeat([]byte(parts[len(parts)-1]), splat)...)
	return op{fmt.Sprintf("WriteSplat(%q,%d)", parts, splat), func(w *vio.Writer) (int, error) {
		data := make([][]byte, len(parts))
		for i, p := range parts {
			data[i] = []byte(p)
		}
		return w.WriteSplat(data, splat)
	}, want}
}

func opVec(parts ...string) op {
	var want []byte
	for _, p := range parts {
		want = append(want, p...)
	}
	return op{fmt.Sprintf("WriteVec(%q)", parts), func(w *vio.Writer) (int, error) {
		data := make([][]byte, len(parts))
		for i, p := range parts {
			data[i] = []byte(p)
		}
		return w.WriteVec(data)
	}, want}
}

func opSplatByte(b byte, n int) op {
	return op{fmt.Sprintf("SplatByte(%q,%d)", b, n), func(w *vio.Writer) (int, error) { return w.SplatByte(b, n) },
		bytes.Repeat([]byte{b}, n)}
}

func opFlush() op {
	return op{"Flush", func(w *vio.Writer) (int, error) { return 0, w.Flush() }, nil}
}

func TestWriterTable(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 300) // 4800 bytes
	scripts := map[string][]op{
		"small writes": {opWrite("hello"), opByte(' '), opString("world"), opWrite(""), opString("")},
		"large write":  {opWrite("ab"), opWrite(long), opByte('!')},
		"splat 0":      {opSplat(0, "abc"), opSplat(0, "x", "y", "zz"), opWrite("-")},
		"splat 1":      {opSplat(1, "abc"), opSplat(1, "x", "y", "zz")},
		"splat N":      {opSplat(3, "abc"), opSplat(5, "x", "", "y", "zz"), opSplat(700, "p", "ABCDEFG")},
		"splat long":   {opSplat(3, "head", long), opSplat(2, long, "tail")},
		"splat empty":  {opSplat(1000, "a", ""), opSplat(5, ""), opSplat(0, "")},
		"empty slices": {opVec("", "", ""), opVec("", "a", "", "b", ""), opVec(), opWrite("")},
		"vec":          {opVec("one", "two", "three"), opVec(long, "x", long)},
		"splat byte":   {opSplatByte('x', 0), opSplatByte('y', 1), opSplatByte('z', 100000), opByte('.')},
		"flushes":      {opFlush(), opWrite("a"), opFlush(), opFlush(), opSplat(20, "ab"), opFlush()},
		"pattern 2049": {opSplat(3, strings.Repeat("q", 2049)), opSplat(7, "012345678")},
	}
	for name, script := range scripts {
		for _, size := range []int{0, 1, 7, 64, 4096, 1 << 16} {
			for _, max := range []int{0, 1, 3, 100} {
				t.Run(fmt.Sprintf("%s/buf=%d/max=%d", name, size, max), func(t *testing.T) {
					s := &fakeSink{max: max}
					w := vio.NewWriter(s, make([]byte, size))
					var want []byte
					for _, o := range script {
						n, err := o.do(w)
						if err != nil || n != len(o.want) {
							t.Fatalf("%s = %d, %v; want %d, nil", o.name, n, err, len(o.want))
						}
						want = append(want, o.want...)
						if w.Available() < 0 || len(w.Buffered()) > size {
							t.Fatalf("bad buffer state after %s", o.name)
						}
					}
					if err := w.Flush(); err != nil {
						t.Fatal(err)
					}
					if len(w.Buffered()) != 0 {
						t.Fatalf("Buffered after Flush: %d bytes", len(w.Buffered()))
					}
					if !bytes.Equal(s.out.Bytes(), want) {
						t.Fatalf("output differs: got %d bytes, want %d\n got %.80q\nwant %.80q", s.out.Len(), len(want), s.out.Bytes(), want)
					}
					for i, c := range s.calls {
						if len(c.lens) == 0 {
							t.Fatalf("call %d: empty data", i)
						}
					}
				})
			}
		}
	}
}

func TestWriterBuffersSmallWrites(t *testing.T) {
	s := &fakeSink{}
	w := vio.NewWriter(s, make([]byte, 16))
	for range 16 {
		w.WriteByte('a')
	}
	if len(s.calls) != 0 {
		t.Fatalf("%d Drain calls before the buffer overflowed", len(s.calls))
	}
	w.WriteByte('b')
	if len(s.calls) != 1 || s.calls[0].buffered != 16 || fmt.Sprint(s.calls[0].lens) != "[1]" {
		t.Fatalf("calls = %+v; want one with 16 buffered and [1]", s.calls)
	}
	if s.out.String() != strings.Repeat("a", 16)+"b" {
		t.Fatalf("out = %q", s.out.String())
	}
}

// zeroCopySink checks that the slice it is given is the caller's, not a copy.
type zeroCopySink struct {
	fakeSink
	want *byte
	seen bool
}

func (s *zeroCopySink) Drain(w *vio.Writer, data [][]byte, splat int) (int, error) {
	for _, d := range data {
		if len(d) > 0 && &d[0] == s.want {
			s.seen = true
		}
	}
	return s.fakeSink.Drain(w, data, splat)
}

func TestWriterLargeWriteOneDrain(t *testing.T) {
	for _, size := range []int{0, 16, 1000} {
		s := &zeroCopySink{}
		w := vio.NewWriter(s, make([]byte, size))
		head := []byte("0123456789")[:min(10, size)]
		w.Write(head)
		p := bytes.Repeat([]byte("x"), 1001)
		s.want = &p[0]
		if n, err := w.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if len(s.calls) != 1 {
			t.Fatalf("buf=%d: %d Drain calls, want 1", size, len(s.calls))
		}
		c := s.calls[0]
		if c.buffered != len(head) || fmt.Sprint(c.lens) != "[1001]" || c.splat != 1 {
			t.Fatalf("buf=%d: call = %+v", size, c)
		}
		if !s.seen {
			t.Fatalf("buf=%d: Drain got a copy of p, not p", size)
		}
		if len(w.Buffered()) != 0 || s.out.Len() != len(head)+len(p) {
			t.Fatalf("buf=%d: buffered %d, out %d", size, len(w.Buffered()), s.out.Len())
		}
	}
}

func TestWriterVecOneDrain(t *testing.T) {
	s := &fakeSink{}
	w := vio.NewWriter(s, make([]byte, 8))
	w.WriteString("abc")
	n, err := w.WriteVec([][]byte{[]byte("defg"), nil, []byte("hij")})
	if n != 7 || err != nil {
		t.Fatalf("WriteVec = %d, %v", n, err)
	}
	if len(s.calls) != 1 || s.calls[0].buffered != 3 || fmt.Sprint(s.calls[0].lens) != "[4 0 3]" {
		t.Fatalf("calls = %+v", s.calls)
	}
	if s.out.String() != "abcdefghij" {
		t.Fatalf("out = %q", s.out.String())
	}
}

func TestWriterSplatPassedThrough(t *testing.T) {
	pat := strings.Repeat("P", 3000) // too long to expand: the sink sees splat as given
	for _, splat := range []int{0, 1, 5} {
		s := &fakeSink{}
		w := vio.NewWriter(s, nil)
		n, err := w.WriteSplat([][]byte{[]byte("a"), []byte("bc"), []byte(pat)}, splat)
		want := 3 + 3000*splat
		if n != want || err != nil {
			t.Fatalf("splat %d: = %d, %v", splat, n, err)
		}
		if len(s.calls) != 1 || s.calls[0].splat != splat || fmt.Sprint(s.calls[0].lens) != "[1 2 3000]" {
			t.Fatalf("splat %d: calls = %+v", splat, s.calls)
		}
		if s.out.String() != "abc"+strings.Repeat(pat, splat) {
			t.Fatalf("splat %d: wrong output", splat)
		}
	}
}

func TestWriterHugeByteSplat(t *testing.T) {
	const n = 10_000_000
	for _, size := range []int{0, 100, 1 << 16} {
		for _, max := range []int{0, 1 << 20} {
			s := &fakeSink{max: max}
			w := vio.NewWriter(s, make([]byte, size))
			w.WriteString("<")
			if m, err := w.SplatByte('x', n); m != n || err != nil {
				t.Fatalf("SplatByte = %d, %v", m, err)
			}
			w.WriteString(">")
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			out := s.out.Bytes()
			if len(out) != n+2 || out[0] != '<' || out[n+1] != '>' || bytes.Count(out, []byte("x")) != n {
				t.Fatalf("buf=%d max=%d: wrong output (%d bytes)", size, max, len(out))
			}
			for i, c := range s.calls {
				if len(c.lens) > 3 {
					t.Fatalf("call %d: %d slices", i, len(c.lens))
				}
				if c.splat > 1 && c.lens[len(c.lens)-1] < 2048 {
					t.Fatalf("call %d: pattern of %d bytes repeated %d times", i, c.lens[len(c.lens)-1], c.splat)
				}
			}
			limit := 3
			if max > 0 {
				limit = n/max + 3
			}
			if len(s.calls) > limit {
				t.Fatalf("buf=%d max=%d: %d Drain calls", size, max, len(s.calls))
			}
		}
	}
}

func TestWriterShortWritesResume(t *testing.T) {
	s := &fakeSink{max: 1}
	w := vio.NewWriter(s, nil)
	p := []byte(strings.Repeat("xy", 50))
	if n, err := w.Write(p); n != 100 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if len(s.calls) != 100 || s.out.String() != string(p) {
		t.Fatalf("%d calls, out %q", len(s.calls), s.out.String())
	}
	// With a buffer, the tail of p that fits once the buffer is empty is buffered.
	s = &fakeSink{max: 30}
	w = vio.NewWriter(s, make([]byte, 50))
	if n, err := w.Write(p); n != 100 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if len(s.calls) != 2 || len(w.Buffered()) != 40 {
		t.Fatalf("%d calls, %d buffered; want 2, 40", len(s.calls), len(w.Buffered()))
	}
	w.Flush()
	if s.out.String() != string(p) {
		t.Fatalf("out %q", s.out.String())
	}
}

func TestWriterDoesNotRetainCallerData(t *testing.T) {
	s := &fakeSink{max: 7}
	w := vio.NewWriter(s, make([]byte, 64))
	p := []byte(strings.Repeat("a", 60))
	w.WriteString("1234567890")
	w.Write(p) // drains 7 bytes, buffers the rest of p
	for i := range p {
		p[i] = 'X'
	}
	w.Flush()
	if want := "1234567890" + strings.Repeat("a", 60); s.out.String() != want {
		t.Fatalf("out = %q; caller's slice was retained", s.out.String())
	}

	// A caller's buffer must become garbage once the call returns.
	type blob struct{ b [1 << 16]byte }
	wp := writeBlob(w, func() *blob { return new(blob) }, func(b *blob) []byte { return b.b[:] })
	defer runtime.KeepAlive(w)
	for range 5 {
		runtime.GC()
		if wp.Value() == nil {
			return
		}
	}
	t.Fatal("the Writer keeps a reference to caller data after Write returned")
}

//go:noinline
func writeBlob[T any](w *vio.Writer, alloc func() *T, bytesOf func(*T) []byte) weak.Pointer[T] {
	b := alloc()
	wp := weak.Make(b)
	w.WriteVec([][]byte{bytesOf(b), []byte("tail")})
	w.WriteSplat([][]byte{bytesOf(b)[:100], bytesOf(b)[:3000]}, 40)
	return wp
}

var errBoom = errors.New("boom")

func TestWriterStickyError(t *testing.T) {
	s := &fakeSink{failAt: 2, failBytes: 3, err: errBoom}
	w := vio.NewWriter(s, make([]byte, 8))
	if n, err := w.Write([]byte("0123456789")); n != 10 || err != nil {
		t.Fatalf("first Write = %d, %v", n, err)
	}
	w.WriteString("abc")
	if n, err := w.Write([]byte("defghijklmnop")); n != 0 || err != errBoom {
		// 3 bytes of the buffer were written, none of p
		t.Fatalf("failing Write = %d, %v; want 0, boom", n, err)
	}
	calls := len(s.calls)
	if n, err := w.Write([]byte("x")); n != 0 || err != errBoom {
		t.Fatalf("Write after error = %d, %v", n, err)
	}
	if n, err := w.WriteString("x"); n != 0 || err != errBoom {
		t.Fatalf("WriteString after error = %d, %v", n, err)
	}
	if err := w.WriteByte('x'); err != errBoom {
		t.Fatalf("WriteByte after error = %v", err)
	}
	if n, err := w.WriteSplat([][]byte{[]byte("x")}, 3); n != 0 || err != errBoom {
		t.Fatalf("WriteSplat after error = %d, %v", n, err)
	}
	if n, err := w.ReadFrom(strings.NewReader("x")); n != 0 || err != errBoom {
		t.Fatalf("ReadFrom after error = %d, %v", n, err)
	}
	if err := w.Flush(); err != errBoom {
		t.Fatalf("Flush after error = %v", err)
	}
	if len(s.calls) != calls {
		t.Fatalf("Drain called after a sticky error")
	}
	if s.out.String() != "0123456789abc" {
		t.Fatalf("out = %q", s.out.String())
	}
	w.Reset(s)
	if w.Err() != nil || len(w.Buffered()) != 0 {
		t.Fatalf("Reset kept state")
	}
	s.failAt = 0
	w.WriteString("ok")
	if err := w.Flush(); err != nil || !strings.HasSuffix(s.out.String(), "ok") {
		t.Fatalf("after Reset: %v, %q", err, s.out.String())
	}
}

func TestWriterPartialWriteError(t *testing.T) {
	s := &fakeSink{failAt: 1, failBytes: 5, err: errBoom}
	w := vio.NewWriter(s, make([]byte, 4))
	w.WriteString("ab")
	n, err := w.Write([]byte("cdefghij"))
	if n != 3 || err != errBoom {
		t.Fatalf("Write = %d, %v; want 3, boom", n, err)
	}
	// Splat: the count is right even when the error lands inside the repeats.
	s = &fakeSink{failAt: 1, failBytes: 3 + 3000*2 + 10, err: errBoom}
	w = vio.NewWriter(s, nil)
	n, err = w.WriteSplat([][]byte{[]byte("abc"), bytes.Repeat([]byte("z"), 3000)}, 4)
	if n != 3+6010 || err != errBoom {
		t.Fatalf("WriteSplat = %d, %v; want %d, boom", n, err, 3+6010)
	}
	// Flush error.
	s = &fakeSink{failAt: 1, failBytes: 1, err: errBoom}
	w = vio.NewWriter(s, make([]byte, 4))
	w.WriteString("abc")
	if err := w.Flush(); err != errBoom {
		t.Fatalf("Flush = %v", err)
	}
	if string(w.Buffered()) != "bc" {
		t.Fatalf("Buffered after failed Flush = %q", w.Buffered())
	}
}

func TestWriterNoProgress(t *testing.T) {
	s := &fakeSink{zero: true}
	w := vio.NewWriter(s, nil)
	if _, err := w.Write([]byte("abc")); err != stdio.ErrNoProgress {
		t.Fatalf("Write = %v; want ErrNoProgress", err)
	}
	s = &fakeSink{zero: true}
	w = vio.NewWriter(s, make([]byte, 4))
	w.WriteString("abc")
	if err := w.Flush(); err != stdio.ErrNoProgress {
		t.Fatalf("Flush = %v; want ErrNoProgress", err)
	}
	s = &fakeSink{bogus: true}
	w = vio.NewWriter(s, nil)
	if _, err := w.Write([]byte("abc")); err == nil {
		t.Fatal("Write with an invalid Drain count succeeded")
	}
}

func TestWriterSplatPanics(t *testing.T) {
	w := vio.NewWriter(&fakeSink{}, nil)
	for _, f := range []func(){
		func() { w.WriteSplat([][]byte{[]byte("a")}, -1) },
		func() { w.SplatBytes([]byte("ab"), int(^uint(0)>>1)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

func TestWriterReadFrom(t *testing.T) {
	data := strings.Repeat("The quick brown fox. ", 500)
	readers := map[string]func() stdio.Reader{
		"strings": func() stdio.Reader { return strings.NewReader(data) },
		"onebyte": func() stdio.Reader { return iotest.OneByteReader(strings.NewReader(data)) },
		"half":    func() stdio.Reader { return iotest.HalfReader(strings.NewReader(data)) },
		"dataerr": func() stdio.Reader { return iotest.DataErrReader(strings.NewReader(data)) },
		"vkio":    func() stdio.Reader { return vio.NewReader(vio.ReaderSource(strings.NewReader(data)), make([]byte, 64)) },
	}
	for name, mk := range readers {
		for _, size := range []int{0, 1, 64, 8192} {
			for _, max := range []int{0, 5} {
				s := &fakeSink{max: max}
				w := vio.NewWriter(s, make([]byte, size))
				w.WriteString("[")
				n, err := w.ReadFrom(mk())
				if n != int64(len(data)) || err != nil {
					t.Fatalf("%s buf=%d: ReadFrom = %d, %v", name, size, n, err)
				}
				w.WriteString("]")
				w.Flush()
				if s.out.String() != "["+data+"]" {
					t.Fatalf("%s buf=%d max=%d: wrong output", name, size, max)
				}
			}
		}
	}
	// Reader errors are returned, not made sticky.
	w := vio.NewWriter(&fakeSink{}, make([]byte, 16))
	if _, err := w.ReadFrom(iotest.ErrReader(errBoom)); err != errBoom {
		t.Fatalf("ReadFrom = %v", err)
	}
	if _, err := w.WriteString("fine"); err != nil {
		t.Fatalf("reader error stuck to the Writer: %v", err)
	}
	// stdio.Copy picks ReadFrom.
	var buf bytes.Buffer
	w = vio.NewWriter(vio.WriterSink(&buf), make([]byte, 16))
	if _, err := stdio.Copy(w, iotest.OneByteReader(strings.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if buf.String() != data {
		t.Fatal("io.Copy through ReadFrom: wrong output")
	}
}

// shortWriter writes at most max bytes per call, reporting no error.
type shortWriter struct {
	buf bytes.Buffer
	max int
	err error
}

func (s *shortWriter) Write(p []byte) (int, error) {
	if len(p) > s.max {
		s.buf.Write(p[:s.max])
		return s.max, s.err
	}
	return s.buf.Write(p)
}

func TestWriterSink(t *testing.T) {
	var buf bytes.Buffer
	w := vio.NewWriter(vio.WriterSink(&buf), make([]byte, 4))
	w.WriteString("ab")
	w.WriteSplat([][]byte{[]byte("cd"), nil, []byte("ef")}, 3)
	w.SplatByte('-', 5000)
	w.Flush()
	if want := "abcdefefef" + strings.Repeat("-", 5000); buf.String() != want {
		t.Fatalf("out = %q", buf.String())
	}
	// A short Write without an error is io.ErrShortWrite.
	sw := &shortWriter{max: 3}
	w = vio.NewWriter(vio.WriterSink(sw), nil)
	if n, err := w.Write([]byte("abcdef")); n != 3 || err != stdio.ErrShortWrite {
		t.Fatalf("Write = %d, %v", n, err)
	}
	// AppendDrainVec lists what a Drain must write.
	w = vio.NewWriter(vio.WriterSink(stdio.Discard), make([]byte, 8))
	w.WriteString("buf")
	vec := vio.AppendDrainVec(nil, w, [][]byte{[]byte("a"), nil, []byte("p")}, 3, 0)
	if got := fmt.Sprintf("%q", vec); got != `["buf" "a" "p" "p" "p"]` {
		t.Fatalf("AppendDrainVec = %s", got)
	}
	if vec = vio.AppendDrainVec(vec[:0], w, [][]byte{[]byte("a"), []byte("p")}, 9, 2); len(vec) != 2 {
		t.Fatalf("AppendDrainVec with limit 2: %d slices", len(vec))
	}
	if n := vio.DrainLen(w, [][]byte{[]byte("a"), []byte("pq")}, 3); n != 3+1+6 {
		t.Fatalf("DrainLen = %d", n)
	}
}

// FuzzWriter writes a random sequence of operations through a Writer with a
// random buffer size over a short-writing sink, and compares the result
// with bytes.Buffer.
func FuzzWriter(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte("\x00hello\x01world\x02\x03x\x05"))
	f.Add(uint8(7), uint8(3), []byte("\x04\x03abc\x20\x05\x00\x06\x01\xff"))
	f.Add(uint8(64), uint8(1), []byte("\x07\xff\xff\x03q\x08\x02\x06"))
	f.Add(uint8(200), uint8(0), bytes.Repeat([]byte("\x00abc\x04\x09"), 40))
	f.Fuzz(runWriterProgram)
}

// runWriterProgram interprets prog as a sequence of Writer operations.
func runWriterProgram(t *testing.T, size, max uint8, prog []byte) {
	{
		s := &fakeSink{max: int(max % 50), nolog: true}
		w := vio.NewWriter(s, make([]byte, int(size)))
		var want bytes.Buffer
		next := func() int {
			if len(prog) == 0 {
				return 0
			}
			b := prog[0]
			prog = prog[1:]
			return int(b)
		}
		take := func(n int) []byte {
			n = min(n, len(prog))
			p := prog[:n:n]
			prog = prog[n:]
			return p
		}
		// Bound the work per input: a sink that takes one byte per Drain
		// turns every byte into a call.
		for len(prog) > 0 && want.Len() < 256<<10 {
			var n int
			var err error
			var exp []byte
			switch next() % 10 {
			case 0:
				exp = take(next())
				n, err = w.Write(exp)
			case 1:
				exp = take(next())
				n, err = w.WriteString(string(exp))
			case 2:
				c := byte(next())
				exp = []byte{c}
				n, err = 1, w.WriteByte(c)
			case 3, 4:
				k := next() % 5
				data := make([][]byte, k+1)
				for i := range data {
					data[i] = take(next() % 40)
				}
				splat := next() % 70
				if next()%4 == 0 {
					splat *= 300
				}
				for _, d := range data[:k] {
					exp = append(exp, d...)
				}
				exp = append(exp, bytes.Repeat(data[k], splat)...)
				n, err = w.WriteSplat(data, splat)
			case 5:
				k := next() % 4
				data := make([][]byte, k)
				for i := range data {
					data[i] = take(next())
				}
				exp = bytes.Join(data, nil)
				n, err = w.WriteVec(data)
			case 6:
				c, m := byte(next()), next()*next()
				exp = bytes.Repeat([]byte{c}, m)
				n, err = w.SplatByte(c, m)
			case 7:
				err = w.Flush()
			case 8:
				exp = take(next() * 4)
				var m int64
				m, err = w.ReadFrom(iotest.HalfReader(bytes.NewReader(exp)))
				n = int(m)
			case 9:
				pat := take(next() % 9)
				m := next()
				exp = bytes.Repeat(pat, m)
				n, err = w.SplatBytes(pat, m)
			}
			if err != nil || n != len(exp) {
				t.Fatalf("op = %d, %v; want %d, nil", n, err, len(exp))
			}
			want.Write(exp)
			if got := s.out.Len() + len(w.Buffered()); got != want.Len() {
				t.Fatalf("written+buffered = %d; want %d", got, want.Len())
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.out.Bytes(), want.Bytes()) {
			t.Fatalf("output differs: got %d bytes, want %d", s.out.Len(), want.Len())
		}
	}
}

func ExampleWriter() {
	w := vio.NewWriter(vio.WriterSink(os.Stdout), make([]byte, 64))
	fmt.Fprintf(w, "%d small writes ", 3)
	w.WriteString("are buffered ")
	w.WriteVec([][]byte{[]byte("and "), []byte("drained "), []byte("together\n")})
	w.Flush()
	// Output: 3 small writes are buffered and drained together
}

func ExampleWriter_WriteSplat() {
	w := vio.NewWriter(vio.WriterSink(os.Stdout), make([]byte, 64))
	// "ab", then "-" ten times.
	w.WriteSplat([][]byte{[]byte("ab"), []byte("-")}, 10)
	w.WriteByte('\n')
	// splat 0 leaves out the last slice.
	w.WriteSplat([][]byte{[]byte("kept\n"), []byte("dropped")}, 0)
	// A pattern, three times.
	w.SplatBytes([]byte("<>"), 3)
	w.WriteByte('\n')
	w.Flush()
	// Output:
	// ab----------
	// kept
	// <><><>
}

func ExampleReader() {
	r := vio.NewReader(vio.ReaderSource(strings.NewReader("alpha beta\ngamma\n")), make([]byte, 32))
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			break
		}
		fmt.Printf("%q\n", line)
	}
	// Output:
	// "alpha beta\n"
	// "gamma\n"
}

// The Writer works as a drop-in for bufio.Writer.
func TestWriterMatchesBufio(t *testing.T) {
	var a, b bytes.Buffer
	w := vio.NewWriter(vio.WriterSink(&a), make([]byte, 10))
	bw := bufio.NewWriterSize(&b, 16)
	for i := range 200 {
		s := strings.Repeat(string(rune('a'+i%26)), i%23)
		w.WriteString(s)
		bw.WriteString(s)
	}
	w.Flush()
	bw.Flush()
	if a.String() != b.String() {
		t.Fatal("output differs from bufio.Writer")
	}
}
