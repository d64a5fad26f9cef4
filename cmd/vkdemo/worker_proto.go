package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	stdio "io"
)

// The worker protocol: `vkdemo serve` and its worker processes (`vkdemo
// __worker`) exchange frames over the worker's stdin and stdout pipes. A
// frame is one type byte, a 4-byte big-endian payload length and the
// payload. Each reader checks the length against its cap before it
// allocates anything.
//
// Parent to worker:
//
//	'J' a job: 4-byte big-endian length of a JSON workerJob, the JSON, then
//	    the request body exactly as the client sent it (re-parsed by the
//	    worker with the server's own parser)
//
// Worker to parent:
//
//	'R' ready: the device is open (payload: its name)
//	'X' the worker cannot start (payload: the reason); it exits
//	'S' the job's stream starts (the parent sends the 200 and its headers)
//	'F' one output: 4-byte big-endian length of the frameHeader JSON, the
//	    JSON, then exactly frameHeader.Bytes bytes of data
//	'V' a save, only from a worker started with --save-to-parent: 4-byte
//	    big-endian length of a JSON workerSave, the JSON, then the
//	    binding's raw data; the parent stores it (a NATS worker: in the
//	    object store) before the job's end
//	'E' the job's end: a JSON workerEnd (done, or an error with the status
//	    to answer when the stream has not started)
//
// One job at a time: after 'J' the worker sends 'S'/'F' frames and exactly
// one 'E', then waits for the next 'J'. EOF on its stdin ends it.
const (
	frameJob   = 'J'
	frameReady = 'R'
	frameFatal = 'X'
	frameStart = 'S'
	frameOut   = 'F'
	frameEnd   = 'E'
	frameSave  = 'V'
)

// maxControlFrame caps the frames that carry only JSON or text (ready,
// fatal, start, end) and the JSON heads of job and output frames.
const maxControlFrame = 64 << 10

// errFrameTooLarge is a frame whose announced length is over its cap.
var errFrameTooLarge = errors.New("worker protocol: frame larger than its cap")

// workerJob is the head of a job frame.
type workerJob struct {
	ContentType string `json:"content_type"`
	ID          uint64 `json:"id"`
	QueueNs     int64  `json:"queue_ns"`
}

// workerSave is the head of a save frame: the job's save path (checked
// again by the parent) and the data's element type.
type workerSave struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

// workerEnd is the payload of an end frame.
type workerEnd struct {
	Done   *jobDone `json:"done,omitempty"`
	Status int      `json:"status,omitempty"` // for an error before the stream started
	Error  string   `json:"error,omitempty"`
}

// frameWriter writes frames.
type frameWriter struct{ w *bufio.Writer }

func newFrameWriter(w stdio.Writer) *frameWriter {
	return &frameWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// write sends one frame whose payload is the concatenation of parts, and
// flushes.
func (f *frameWriter) write(typ byte, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if uint64(n) > 1<<32-1 {
		return errFrameTooLarge
	}
	var head [5]byte
	head[0] = typ
	binary.BigEndian.PutUint32(head[1:], uint32(n))
	if _, err := f.w.Write(head[:]); err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := f.w.Write(p); err != nil {
			return err
		}
	}
	return f.w.Flush()
}

// lenPrefixed returns b's length as 4 big-endian bytes.
func lenPrefixed(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, uint32(len(b))) }

// readFrame reads one frame. capFor gives the largest payload accepted for
// a frame type (0: the type is not expected); the cap is checked before the
// payload is allocated.
func readFrame(r *bufio.Reader, capFor func(typ byte) int64) (byte, []byte, error) {
	var head [5]byte
	if _, err := stdio.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	typ, n := head[0], int64(binary.BigEndian.Uint32(head[1:]))
	c := capFor(typ)
	switch {
	case c == 0:
		return typ, nil, fmt.Errorf("worker protocol: unexpected frame type %q", typ)
	case n > c:
		return typ, nil, fmt.Errorf("%w: %q frame of %d bytes, cap %d", errFrameTooLarge, typ, n, c)
	}
	p := make([]byte, n)
	if _, err := stdio.ReadFull(r, p); err != nil {
		if err == stdio.EOF {
			err = stdio.ErrUnexpectedEOF
		}
		return typ, nil, err
	}
	return typ, p, nil
}

// splitPrefixed splits a payload that starts with a 4-byte big-endian
// length of its head into the head and the rest; the head may be at most
// maxHead bytes.
func splitPrefixed(p []byte, maxHead int) (head, rest []byte, err error) {
	if len(p) < 4 {
		return nil, nil, errors.New("worker protocol: frame shorter than its head length")
	}
	n := binary.BigEndian.Uint32(p)
	if uint64(n) > uint64(maxHead) || uint64(n) > uint64(len(p)-4) {
		return nil, nil, fmt.Errorf("worker protocol: head of %d bytes in a frame of %d (cap %d)", n, len(p), maxHead)
	}
	return p[4 : 4+n], p[4+n:], nil
}
