package tasks

import (
	"encoding/binary"
	"fmt"
	stdio "io"
	"io/fs"
	"sync"

	"github.com/vkio/vkio/io"
)

// DirSink saves each frame as a file in Dir, atomically (io.Dir.CreateAtomic:
// temporary file, fsync, rename, fsync of the directory): a file appears
// whole or not at all, and a canceled or failed save leaves nothing behind.
type DirSink struct {
	Dir     io.Dir
	Pattern string      // file name with one %d verb for the frame, e.g. "frame-%05d.png"
	Perm    fs.FileMode // 0 means 0o644
}

// Name returns the file name of frame.
func (s *DirSink) Name(frame int) string { return fmt.Sprintf(s.Pattern, frame) }

// Save writes data as frame's file.
func (s *DirSink) Save(x io.Io, frame int, data []byte) error {
	perm := s.Perm
	if perm == 0 {
		perm = 0o644
	}
	f, err := s.Dir.CreateAtomic(x, s.Name(frame), perm)
	if err != nil {
		return err
	}
	defer f.Close(x.WithoutCancel()) // abandons the file unless Commit ran
	if _, err := f.Write(x, data); err != nil {
		return err
	}
	return f.Commit(x)
}

// Resource returns Disk.
func (s *DirSink) Resource() Resource { return Disk }

// ConnSink sends each frame on a stream connection as one message: a
// 12-byte header (frame as uint32, length as uint64, little-endian) and the
// data, in one vectorized write. Messages from concurrent Saves do not
// interleave. A Save canceled in the middle of a message leaves the stream
// unusable: close the connection after a failed run.
type ConnSink struct {
	Conn *io.Conn
	mu   sync.Mutex
}

// Save sends frame's message.
func (s *ConnSink) Save(x io.Io, frame int, data []byte) error {
	var hdr [12]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(frame))
	binary.LittleEndian.PutUint64(hdr[4:], uint64(len(data)))
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.Conn.WriteVec(x, [][]byte{hdr[:], data}, 1)
	return err
}

// Resource returns Net.
func (s *ConnSink) Resource() Resource { return Net }

// ReadMessage reads one ConnSink message from r, appending the data to buf.
// At the end of the stream it returns the standard library's io.EOF.
func ReadMessage(r stdio.Reader, buf []byte) (frame int, data []byte, err error) {
	var hdr [12]byte
	if _, err := stdio.ReadFull(r, hdr[:]); err != nil {
		return 0, buf, err
	}
	n := binary.LittleEndian.Uint64(hdr[4:])
	if n > 1<<32 {
		return 0, buf, fmt.Errorf("%w: message of %d bytes", ErrInvalid, n)
	}
	start := len(buf)
	buf = append(buf, make([]byte, n)...)
	if _, err := stdio.ReadFull(r, buf[start:]); err != nil {
		if err == stdio.EOF {
			err = stdio.ErrUnexpectedEOF
		}
		return 0, buf[:start], err
	}
	return int(binary.LittleEndian.Uint32(hdr[0:])), buf, nil
}

// SinkFunc adapts a function to Sink (traced on Disk).
type SinkFunc func(x io.Io, frame int, data []byte) error

// Save calls f.
func (f SinkFunc) Save(x io.Io, frame int, data []byte) error { return f(x, frame, data) }
