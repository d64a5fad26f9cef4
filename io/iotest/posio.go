package iotest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	stdio "io"

	"github.com/vkio/vkio/io"
)

// rangeByte is the content of byte i of range r in the positional cases: it
// differs between ranges and along each one.
func rangeByte(r, i int) byte { return byte(r*31 + i*7 + i>>11) }

// Eight tasks each write their own 1 MiB range of one file through a
// positional Writer (WriterAt) and read it back through a positional
// Reader (ReaderAt), at once where the implementation overlaps them; the
// file position, set by a plain Write before, is never touched.
var _ = register("PositionalRanges", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	f, err := d.CreateFile(x, "ranges.bin", io.CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	const head = "HEAD"
	if _, err := f.Write(x, []byte(head)); err != nil { // the file position is now 4
		t.Fatal(err)
	}
	const tasks, size = 8, 1 << 20
	var g io.Group
	for r := range tasks {
		g.Async(x, func(x io.Io) error {
			off := int64(len(head) + r*size)
			w := f.WriterAt(x, off, make([]byte, 8<<10))
			chunk := make([]byte, 3000) // not a divisor of the buffer: drains of every shape
			for i := 0; i < size; {
				n := min(len(chunk), size-i)
				for j := range n {
					chunk[j] = rangeByte(r, i+j)
				}
				if _, err := w.Write(chunk[:n]); err != nil {
					return err
				}
				i += n
			}
			if err := w.Flush(); err != nil {
				return err
			}
			rd := f.ReaderAt(x, off, make([]byte, 5000))
			got := make([]byte, size)
			if _, err := rd.ReadFull(got); err != nil {
				return fmt.Errorf("range %d: read back: %w", r, err)
			}
			for i, b := range got {
				if b != rangeByte(r, i) {
					return fmt.Errorf("range %d: byte %d = %#x, want %#x", r, i, b, rangeByte(r, i))
				}
			}
			return nil
		})
	}
	if err := g.Wait(x); err != nil {
		t.Fatal(err)
	}
	// The shared position is still right after the head: a plain read there
	// sees range 0, and the file is exactly the head and the ranges.
	first := make([]byte, 16)
	if _, err := stdio.ReadFull(readerOf(x, f), first); err != nil {
		t.Fatal(err)
	}
	for i, b := range first {
		if b != rangeByte(0, i) {
			t.Fatalf("read at the file position: byte %d = %#x, want range 0's %#x (position moved)", i, b, rangeByte(0, i))
		}
	}
	got := mustRead(t, filepath.Join(p, "ranges.bin"))
	if len(got) != len(head)+tasks*size || string(got[:len(head)]) != head {
		t.Fatalf("file is %d bytes starting %q, want %d starting %q", len(got), got[:min(len(got), 4)], len(head)+tasks*size, head)
	}
	for r := range tasks {
		seg := got[len(head)+r*size:][:size]
		for i, b := range seg {
			if b != rangeByte(r, i) {
				t.Fatalf("file: range %d byte %d = %#x, want %#x", r, i, b, rangeByte(r, i))
			}
		}
	}
})

// readerOf adapts f.Read at the file position to io.Reader.
func readerOf(x io.Io, f *io.File) stdio.Reader {
	return readerFunc(func(p []byte) (int, error) { return f.Read(x, p) })
}

type readerFunc func(p []byte) (int, error)

func (r readerFunc) Read(p []byte) (int, error) { return r(p) }

// WriteVecAt places the splat stream at an offset, ReadVecAt scatters a
// range into several buffers, and neither moves the file position.
var _ = register("FileVecAt", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	f, err := d.CreateFile(x, "vec.bin", io.CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	big := randomBytes(300_000)
	data := [][]byte{[]byte("ab"), nil, big, []byte("xyz")}
	n, err := f.WriteVecAt(x, data, 5000, 10) // 15000 bytes of splat: expanded into chunks
	want := int64(2 + len(big) + 3*5000)
	if n != want || err != nil {
		t.Fatalf("WriteVecAt = %d, %v; want %d", n, err, want)
	}
	if n, err := f.WriteVecAt(x, [][]byte{[]byte("Z"), []byte("never")}, 0, 0); n != 1 || err != nil {
		t.Fatalf("WriteVecAt splat 0 = %d, %v; want 1", n, err)
	}
	expect := append([]byte("Z"), make([]byte, 9)...)
	expect = append(expect, "ab"...)
	expect = append(expect, big...)
	expect = append(expect, bytes.Repeat([]byte("xyz"), 5000)...)
	if got := mustRead(t, filepath.Join(p, "vec.bin")); !bytes.Equal(got, expect) {
		t.Fatalf("file after WriteVecAt: %d bytes, want %d (equal %v)", len(got), len(expect), bytes.Equal(got, expect))
	}
	// Scatter: three buffers and an empty one, from offset 7.
	b1, b2, b3 := make([]byte, 5), make([]byte, 200_000), make([]byte, 1)
	bufs := [][]byte{b1, nil, b2, b3}
	if n, err := f.ReadVecAt(x, bufs, 7); n != 200_006 || err != nil {
		t.Fatalf("ReadVecAt = %d, %v; want 200006", n, err)
	}
	got := append(append(append([]byte{}, b1...), b2...), b3...)
	if !bytes.Equal(got, expect[7:7+200_006]) {
		t.Fatal("ReadVecAt read the wrong bytes")
	}
	if len(bufs[0]) != 5 || bufs[1] != nil || len(bufs[2]) != 200_000 {
		t.Fatal("ReadVecAt modified the caller's vector")
	}
	// Past the end: what there is, then io.EOF.
	tail := make([]byte, 100)
	if n, err := f.ReadVecAt(x, [][]byte{tail[:40], tail[40:]}, int64(len(expect)-50)); n != 50 || err != stdio.EOF {
		t.Fatalf("ReadVecAt over the end = %d, %v; want 50, io.EOF", n, err)
	}
	if !bytes.Equal(tail[:50], expect[len(expect)-50:]) {
		t.Fatal("ReadVecAt over the end read the wrong bytes")
	}
	// The position never moved: a plain write lands at 0.
	if _, err := f.Write(x, []byte("P")); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(p, "vec.bin")); got[0] != 'P' {
		t.Fatalf("plain write after positional ones landed elsewhere: first byte %q", got[0])
	}
	if _, err := f.WriteVecAt(x, data, 1, -1); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("WriteVecAt at -1 = %v, want ErrInvalid", err)
	}
	if _, err := f.ReadVecAt(x, bufs, -1); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("ReadVecAt at -1 = %v, want ErrInvalid", err)
	}
	if _, err := f.WriteVecAt(x, data, -1, 0); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("WriteVecAt splat -1 = %v, want ErrInvalid", err)
	}
})

// Writer.SendFile from a file to files: after buffered bytes, at the file
// position (File.Writer) and at an offset (File.WriterAt); a range, the
// rest of the file (n < 0), and a range that runs over the end (io.EOF).
var _ = register("SendFileToFile", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	src := randomBytes(9<<20 + 123) // more than one 4 MiB kernel chunk
	if err := d.WriteFile(x, "src.bin", src, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := d.OpenFile(x, "src.bin", io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(x)

	out, err := d.CreateFile(x, "pos.bin", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	log := &opLog{}
	w := out.Writer(x.WithObserver(log), make([]byte, 4096))
	w.WriteString("head:")
	if n, err := w.SendFile(x, in, 100, 5<<20); n != 5<<20 || err != nil {
		t.Fatalf("SendFile range = %d, %v", n, err)
	}
	if runtime.GOOS == "linux" { // the kernel moved the bytes: copy_file_range(2)
		if op, ok := log.find("file", "sendfile"); !ok || op.Bytes != 5<<20 || op.Err != nil {
			t.Fatalf("observed sendfile %+v (found %v), want %d bytes without an error", op, ok, 5<<20)
		}
	}
	w.WriteString(":mid:")
	if n, err := w.SendFile(x, in, 7, -1); n != int64(len(src)-7) || err != nil {
		t.Fatalf("SendFile to the end = %d, %v; want %d", n, err, len(src)-7)
	}
	if n, err := w.SendFile(x, in, int64(len(src)-10), 20); n != 10 || err != stdio.EOF {
		t.Fatalf("SendFile over the end = %d, %v; want 10, io.EOF", n, err)
	}
	w.WriteString(":end")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(x); err != nil {
		t.Fatal(err)
	}
	want := append([]byte("head:"), src[100:100+5<<20]...)
	want = append(want, ":mid:"...)
	want = append(want, src[7:]...)
	want = append(want, src[len(src)-10:]...)
	want = append(want, ":end"...)
	if got := mustRead(t, filepath.Join(p, "pos.bin")); !bytes.Equal(got, want) {
		t.Fatalf("File.Writer + SendFile wrote %d bytes, want %d (equal %v)", len(got), len(want), bytes.Equal(got, want))
	}

	at, err := d.CreateFile(x, "at.bin", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer at.Close(x)
	wa := at.WriterAt(x, 1000, nil) // unbuffered
	if _, err := wa.Write([]byte("<")); err != nil {
		t.Fatal(err)
	}
	if n, err := wa.SendFile(x, in, 0, int64(len(src))); n != int64(len(src)) || err != nil {
		t.Fatalf("WriterAt SendFile = %d, %v", n, err)
	}
	if _, err := wa.Write([]byte(">")); err != nil {
		t.Fatal(err)
	}
	want = append(append(append(make([]byte, 1000), '<'), src...), '>')
	if got := mustRead(t, filepath.Join(p, "at.bin")); !bytes.Equal(got, want) {
		t.Fatalf("WriterAt + SendFile wrote %d bytes, want %d (equal %v)", len(got), len(want), bytes.Equal(got, want))
	}
	if _, err := wa.SendFile(x, in, -1, 1); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("SendFile at -1 = %v, want ErrInvalid", err)
	}
	// A Writer whose Sink is no FileSender copies through its buffer.
	var buf bytes.Buffer
	ws := io.NewWriter(io.WriterSink(&buf), make([]byte, 1000))
	if n, err := ws.SendFile(x, in, 3, 12345); n != 12345 || err != nil {
		t.Fatalf("SendFile through WriterSink = %d, %v", n, err)
	}
	if err := ws.Flush(); err != nil || !bytes.Equal(buf.Bytes(), src[3:3+12345]) {
		t.Fatalf("SendFile through WriterSink: %v, equal %v", err, bytes.Equal(buf.Bytes(), src[3:3+12345]))
	}
})

// Writer.SendFile to a socket: the peer (a plain net.Conn, read on its own
// goroutine so that Blocking needs no Concurrent) gets the buffered bytes,
// then the file's range.
var _ = register("SendFileToSocket", func(t *testing.T, x io.Io) {
	d, _ := tempDir(t, x)
	src := randomBytes(6<<20 + 77)
	if err := d.WriteFile(x, "src.bin", src, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := d.OpenFile(x, "src.bin", io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(x)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		b   []byte
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{nil, err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(within))
		b, err := stdio.ReadAll(c)
		got <- result{b, err}
	}()
	c, err := io.Dial(x, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	log := &opLog{}
	w := c.Writer(x.WithObserver(log), make([]byte, 4096))
	w.WriteString("GET ")
	n, err := w.SendFile(x, in, 5, int64(len(src)-5))
	if n != int64(len(src)-5) || err != nil {
		t.Fatalf("SendFile = %d, %v", n, err)
	}
	if runtime.GOOS == "linux" { // the kernel moved the bytes: sendfile(2)
		if op, ok := log.find("net", "sendfile"); !ok || op.Bytes != n || op.Err != nil {
			t.Fatalf("observed sendfile %+v (found %v), want %d bytes without an error", op, ok, n)
		}
	}
	w.WriteString(" END")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(x); err != nil {
		t.Fatal(err)
	}
	r := <-got
	want := append(append([]byte("GET "), src[5:]...), " END"...)
	if r.err != nil || !bytes.Equal(r.b, want) {
		t.Fatalf("peer read %d bytes, %v; want %d (equal %v)", len(r.b), r.err, len(want), bytes.Equal(r.b, want))
	}
	// After Close, SendFile fails with ErrClosed.
	w2 := c.Writer(x, nil)
	if _, err := w2.SendFile(x, in, 0, 10); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("SendFile on a closed Conn = %v, want ErrClosed", err)
	}
})

// A SendFile to a socket whose peer never reads parks in the poller once
// the socket buffer is full; cancellation ends it with ErrCanceled, some
// but not all bytes sent.
var _ = register("SendFileCanceled", func(t *testing.T, x io.Io) {
	d, _ := tempDir(t, x)
	big, err := d.CreateFile(x, "sparse.bin", io.CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close(x)
	const size = 1 << 30 // sparse: no disk used
	if err := big.SetLength(x, size); err != nil {
		t.Fatal(err)
	}
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	c, err := io.Dial(x, "tcp", l.Addr().String()) // completes in the backlog: nobody accepts, nobody reads
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(x)
	y, stop := canceledBy(x, 200*time.Millisecond)
	defer stop()
	w := c.Writer(y, nil)
	begin := time.Now()
	n, err := w.SendFile(y, big, 0, size)
	isCanceled(t, err)
	if n <= 0 || n >= size {
		t.Fatalf("canceled SendFile sent %d bytes, want some but not all of %d", n, size)
	}
	if d := time.Since(begin); d > within {
		t.Fatalf("cancellation took %v", d)
	}
})

// net/http's response writer hands a body of known length to the
// connection's ReadFrom: through the adapter (Conn.NetConn), a File's
// ReaderAt goes out with Writer.SendFile, inside the io.LimitedReader that
// io.CopyN makes, with bytes already buffered by net/http's sniffing read.
var _ = register("NetConnReadFromFile", func(t *testing.T, x io.Io) {
	d, _ := tempDir(t, x)
	src := randomBytes(3<<20 + 5)
	if err := d.WriteFile(x, "src.bin", src, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := d.OpenFile(x, "src.bin", io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(x)
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &opLog{}
	const from, part = 1000, 1 << 20
	mux := http.NewServeMux()
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(src)-from))
		rd := in.ReaderAt(x, from, nil)
		// Parts, as a server bounding each write by a deadline sends them.
		for sent := 0; sent < len(src)-from; {
			n, err := stdio.CopyN(w, rd, int64(min(part, len(src)-from-sent)))
			sent += int(n)
			if err != nil {
				t.Errorf("CopyN after %d bytes: %v", sent, err)
				return
			}
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: within}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l.NetListener(x.WithObserver(log))) }()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: within}
	resp, err := cl.Get("http://" + l.Addr().String() + "/file")
	if err != nil {
		t.Fatal(err)
	}
	got, err := stdio.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, src[from:]) {
		t.Fatalf("GET /file: %d bytes, %v; want %d (equal %v)", len(got), err, len(src)-from, bytes.Equal(got, src[from:]))
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	if runtime.GOOS == "linux" {
		var kernel int64
		log.mu.Lock()
		for _, op := range log.ops {
			if op.Class == "net" && op.Name == "sendfile" {
				kernel += op.Bytes
			}
		}
		log.mu.Unlock()
		// All but what net/http's first read took (its 512-byte sniff, in a
		// Reader buffer of 4 KiB) went through sendfile.
		if kernel < int64(len(src)-from-8192) {
			t.Fatalf("sendfile moved %d of %d bytes", kernel, len(src)-from)
		}
	}
})

// A SendFile from a file to a file goes in bounded kernel copies with a
// cancel point between them: a 1 GiB copy canceled after a moment stops
// with ErrCanceled, short of the end.
var _ = register("SendFileToFileCanceled", func(t *testing.T, x io.Io) {
	d, _ := tempDir(t, x)
	big, err := d.CreateFile(x, "sparse.bin", io.CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close(x)
	const size = 1 << 30
	if err := big.SetLength(x, size); err != nil {
		t.Fatal(err)
	}
	out, err := d.CreateFile(x, "copy.bin", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close(x)
	y, stop := canceledBy(x, 5*time.Millisecond)
	defer stop()
	n, err := out.WriterAt(y, 0, nil).SendFile(y, big, 0, size)
	isCanceled(t, err)
	if n >= size {
		t.Fatalf("canceled SendFile copied all %d bytes", n)
	}
})
