package io

import (
	"errors"
	"fmt"

	stdio "io"
)

// Zero-copy sends, after Zig's Writer.sendFile: a Writer whose Sink is a
// FileSender moves a file's bytes to its destination inside the kernel,
// without copying them through user memory; any other Writer reads the file
// into its buffer and drains it as usual.

// FileSender is an optional interface of a Sink: one that can move bytes of
// a file to its destination inside the kernel. The Sinks of Conn.Writer,
// File.Writer and File.WriterAt implement it (see Writer.SendFile for how).
type FileSender interface {
	// SendFile moves n bytes of f, starting at offset off, to the Sink's
	// destination, or, when n < 0, every byte from off to the end of f.
	// The Writer's buffer is empty when it is called. It returns the number
	// of bytes moved; fewer than n only with an error, io.EOF (the standard
	// library's) when f ends first. An error matching ErrUnsupported, with
	// or without some bytes moved, says that the kernel cannot move (the
	// rest of) these bytes: the Writer then copies the rest itself.
	SendFile(w *Writer, f *File, off, n int64) (int64, error)
}

// maxSendChunk bounds the bytes of one kernel copy (sendfile,
// copy_file_range): a cancel point comes between chunks. It is what the Go
// runtime uses for sendfile (internal/poll's maxSendfileSize).
const maxSendChunk = 4 << 20

// sendFileDriver is the kernel copy from a file to a file: copy_file_range,
// or sendfile where copy_file_range refuses the pair (a pipe, a device or a
// file of another file system as destination). dstOff < 0 means at dst's
// file position, which then moves; src's position never moves. A pair the
// kernel cannot copy returns an error matching ErrUnsupported and no bytes.
type sendFileDriver interface {
	copyRange(t *task, dst int, dstOff int64, src int, srcOff int64, n int) (int, error)
}

// fileSender is the kernel copy from a file to a socket (sendfile), where a
// netConn has one.
type fileSender interface {
	sendFile(t *task, src int, off int64, n int) (int, error)
}

func (f failing) copyRange(*task, int, int64, int, int64, int) (int, error) {
	return 0, f.fail("sendfile")
}

// SendFile writes n bytes of f from offset off (n < 0: from off to the end
// of f) after the buffered bytes, without touching f's file position, and
// returns the number of bytes of f written: fewer than n only with an error,
// io.EOF (the standard library's) when f ends first. The buffer is flushed
// first; then, where the Sink is a FileSender, the kernel moves the bytes
// without copying them through user memory:
//
//   - to a socket (Conn.Writer): sendfile(2), in chunks of at most 4 MiB;
//     a full socket buffer parks the task in the runtime's network poller
//     until the socket can take more, as Conn.Write does;
//   - to a file (File.Writer, File.WriterAt): copy_file_range(2), which
//     shares extents on file systems that can (Btrfs, XFS, NFS) and copies
//     in the kernel elsewhere; where it refuses the pair (a pipe, a device
//     or another file system as destination), sendfile(2) for File.Writer.
//
// On every implementation these are system calls on the task's goroutine:
// io_uring has no sendfile or copy_file_range request, and its splice
// request needs a pipe between file and socket, two linked requests per
// chunk; Evented's sockets are in the runtime poller anyway. Without a
// kernel path (other systems, a Sink that is no FileSender, a pair the
// kernel refuses) SendFile reads f at off into
// the Writer's buffer (a 4 KiB scratch buffer when unbuffered) with x, the
// Io of the calling task, and drains it as Write does; the last bytes read
// may stay buffered, as after Write. Between chunks, and in the poller's
// wait, it is a cancel point.
//
// f must be a file with offsets: a pipe or socket as f fails (ESPIPE), as
// File.ReadAt does. Errors of the Sink stick, as for Write; an error of the kernel copy does
// not (it cannot tell whether the file or the destination failed), nor
// does io.EOF.
func (w *Writer) SendFile(x Io, f *File, off, n int64) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	if f == nil {
		return 0, opErr("sendfile", "", ErrInvalid)
	}
	if off < 0 {
		return 0, opErr("sendfile", f.name, fmt.Errorf("%w: negative offset %d", ErrInvalid, off))
	}
	if n == 0 {
		return 0, nil
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	var sent int64
	if fs, ok := w.sink.(FileSender); ok {
		k, err := fs.SendFile(w, f, off, n)
		if k < 0 || (n >= 0 && k > n) {
			w.err = errInvalidDrain
			return 0, w.err
		}
		sent = k
		if err == nil || !errors.Is(err, ErrUnsupported) {
			return sent, err
		}
		if n >= 0 {
			n -= k
			if n == 0 {
				return sent, nil
			}
		}
	}
	k, err := w.sendByCopy(x, f, off+sent, n)
	return sent + k, err
}

// sendByCopy is SendFile without a kernel path: pread into the buffer (or
// the scratch area when unbuffered), then drain.
func (w *Writer) sendByCopy(x Io, f *File, off, n int64) (int64, error) {
	var sent int64
	for n < 0 || sent < n {
		dst, err := w.fillSpace()
		if err != nil {
			return sent, err
		}
		if n >= 0 && int64(len(dst)) > n-sent {
			dst = dst[:n-sent]
		}
		k, err := f.ReadAt(x, dst, off+sent)
		if len(w.buf) == 0 {
			m, werr := w.Write(dst[:k])
			sent += int64(m)
			if werr != nil {
				return sent, werr
			}
		} else {
			w.end += k
			sent += int64(k)
		}
		if err == stdio.EOF {
			if n < 0 {
				return sent, nil
			}
			return sent, err
		}
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// sendLoop moves n bytes of f from off (n < 0: to its end) with move, one
// kernel copy of at most maxSendChunk bytes at a time, with a cancel point
// between chunks. It returns io.EOF when f ends before n bytes.
func sendLoop(x Io, f *File, off, n int64, move func(src int, off int64, k int) (int, error)) (int64, error) {
	if err := f.hold("read"); err != nil {
		return 0, err
	}
	defer f.drop()
	var sent int64
	for n < 0 || sent < n {
		if x.t.isCanceled() {
			return sent, x.t.err()
		}
		k := maxSendChunk
		if n >= 0 && n-sent < int64(k) {
			k = int(n - sent)
		}
		m, err := move(f.fd, off+sent, k)
		if m < 0 {
			m = 0
		}
		sent += int64(m)
		if err != nil {
			return sent, err
		}
		if m == 0 {
			if n < 0 {
				return sent, nil
			}
			return sent, stdio.EOF
		}
	}
	return sent, nil
}

// unsupportedCopy is the error of a kernel copy that the kernel refused for
// this pair of files: the Writer copies instead.
func unsupportedCopy(err error) error {
	return fmt.Errorf("%w: kernel copy refused (%v)", ErrUnsupported, err)
}

// sendFileWrap wraps a kernel copy's error for the Writer: io.EOF as it is.
func sendFileWrap(op, name string, err error) error {
	if err == nil || err == stdio.EOF {
		return err
	}
	return opErr(op, name, err)
}

// SendFile moves bytes of f to the connection with sendfile(2), where the
// system has it (see Writer.SendFile).
func (s *connSink) SendFile(_ *Writer, f *File, off, n int64) (int64, error) {
	fs, ok := s.c.c.(fileSender)
	if !ok {
		return 0, ErrUnsupported
	}
	start := s.x.start()
	sent, err := sendLoop(s.x, f, off, n, func(src int, off int64, k int) (int, error) {
		return fs.sendFile(s.x.t, src, off, k)
	})
	s.x.observe(start, "net", "sendfile", s.c.name, sent, err)
	if err != nil && err != stdio.EOF {
		return sent, s.c.err("sendfile", err)
	}
	return sent, err
}

// SendFile moves bytes of f to the file at its position with
// copy_file_range(2) or sendfile(2) (see Writer.SendFile).
func (s *fileSink) SendFile(_ *Writer, f *File, off, n int64) (int64, error) {
	if s.f.pipe != nil {
		// A pipe, FIFO or terminal is non-blocking and waits in the poller:
		// a kernel copy into it would fail with EAGAIN once it is full
		// instead of waiting. The Writer copies through its buffer, whose
		// writes wait in the poller (and are cancel points there).
		return 0, ErrUnsupported
	}
	if err := s.f.hold("write"); err != nil {
		return 0, err
	}
	defer s.f.drop()
	start := s.x.start()
	sent, err := sendLoop(s.x, f, off, n, func(src int, off int64, k int) (int, error) {
		return s.x.drv().copyRange(s.x.t, s.f.fd, -1, src, off, k)
	})
	s.x.observe(start, "file", "sendfile", s.f.name, sent, err)
	return sent, sendFileWrap("sendfile", s.f.name, err)
}

// SendFile moves bytes of f to the file at the sink's offset with
// copy_file_range(2), and moves the offset past them (see Writer.SendFile).
func (s *posSink) SendFile(_ *Writer, f *File, off, n int64) (int64, error) {
	if err := s.f.hold("write"); err != nil {
		return 0, err
	}
	defer s.f.drop()
	if s.off < 0 {
		return 0, opErr("write", s.f.name, fmt.Errorf("%w: negative offset %d", ErrInvalid, s.off))
	}
	start := s.x.start()
	sent, err := sendLoop(s.x, f, off, n, func(src int, off int64, k int) (int, error) {
		m, err := s.x.drv().copyRange(s.x.t, s.f.fd, s.off, src, off, k)
		if m > 0 {
			s.off += int64(m)
		}
		return m, err
	})
	s.x.observe(start, "file", "sendfile", s.f.name, sent, err)
	return sent, sendFileWrap("sendfile", s.f.name, err)
}

// ReadFrom copies r to the connection until io.EOF, within the write
// deadline, and returns the bytes written; io.EOF is not reported. When r
// is a Reader made by File.ReaderAt, alone or inside an *io.LimitedReader
// (as io.CopyN and net/http's response writer hand it on), the file's bytes
// go through Writer.SendFile (sendfile(2) on Linux): its buffered bytes are
// written first, then the kernel moves the rest, and the Reader's offset
// (and the LimitedReader's N) move past them, as if it had been read. Any
// other r is copied through a buffer. net/http calls it for a response
// body of known length when the net.Conn is this one (or forwards to it).
func (a *netConnAdapter) ReadFrom(r stdio.Reader) (int64, error) {
	lr, _ := r.(*stdio.LimitedReader)
	src, limit := r, int64(-1)
	if lr != nil {
		src, limit = lr.R, lr.N
	}
	rr, ok := src.(*Reader)
	var ps *posSource
	if ok {
		ps, _ = rr.src.(*posSource)
	}
	if ps == nil || ps.off < 0 || rr.err != nil {
		return stdio.Copy(writerOnly{a}, r)
	}
	var n int64
	if k := rr.Buffered(); k > 0 && limit != 0 {
		if limit >= 0 {
			k = int(min(int64(k), limit))
		}
		m, err := a.Write(rr.buf[rr.seek : rr.seek+k])
		rr.seek += m
		n += int64(m)
		if lr != nil {
			lr.N -= int64(m)
			limit = lr.N
		}
		if err != nil {
			return n, err
		}
	}
	if limit == 0 || rr.Buffered() > 0 {
		return n, nil
	}
	ox, end, err := a.wr.begin(a.x, a.c, "write")
	if err != nil {
		return n, err
	}
	w := a.c.Writer(ox, nil)
	m, err := w.SendFile(ox, ps.f, ps.off, limit)
	ps.off += m
	n += m
	if lr != nil {
		lr.N -= m
	}
	if err == stdio.EOF {
		err = nil
	}
	return n, end(err)
}

// writerOnly hides a writer's ReadFrom from io.Copy.
type writerOnly struct{ stdio.Writer }
