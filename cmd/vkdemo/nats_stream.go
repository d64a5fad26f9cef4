package main

import (
	"bytes"
	"encoding/json"

	"github.com/vkio/vkio/cluster"
)

// streamScanner follows serve's stream format (a JSON header line and its
// data per output, then a done or error line) in bytes that arrive in
// pieces of any size, as a job's live chunks do: it keeps the frame
// headers and notes the last line.
type streamScanner struct {
	buf    []byte // an incomplete line
	need   int    // data bytes of the current frame still to come
	frames []frameHeader
	done   bool // the done line was seen
	bad    bool // the bytes are not a stream: ignore the rest
}

// feed takes the next bytes of the stream.
func (sc *streamScanner) feed(p []byte) {
	for len(p) > 0 && !sc.bad && !sc.done {
		if sc.need > 0 {
			n := min(sc.need, len(p))
			sc.need -= n
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		n := i
		if i < 0 {
			n = len(p)
		}
		if len(sc.buf)+n > maxControlFrame {
			sc.bad = true // a line longer than any header or last line
			return
		}
		if i < 0 {
			sc.buf = append(sc.buf, p...)
			return
		}
		line := append(sc.buf, p[:i]...)
		sc.buf = nil
		p = p[i+1:]
		var h struct {
			frameHeader
			Done  *bool   `json:"done"`
			Error *string `json:"error"`
		}
		if err := json.Unmarshal(line, &h); err != nil || h.Bytes < 0 {
			sc.bad = true
			return
		}
		switch {
		case h.Done != nil:
			sc.done = true
		case h.Error != nil:
			sc.bad = true
		default:
			sc.frames = append(sc.frames, h.frameHeader)
			sc.need = h.Bytes
		}
	}
}

// atBoundary reports whether the stream so far ends between frames.
func (sc *streamScanner) atBoundary() bool { return sc.need == 0 && len(sc.buf) == 0 && !sc.bad }

// liveStream follows a watched job's live chunks: those of one delivery
// (attempt), in sequence. Chunks are best effort: a gap, or a chunk of a
// later delivery (the first one's worker died), ends or restarts it.
type liveStream struct {
	attempt int
	next    uint64 // the chunk sequence expected
	lost    bool   // a chunk of this delivery was missed
	scan    streamScanner
}

// What liveStream.add made of a chunk.
const (
	liveNext       = iota // the next chunk of the current delivery: in scan
	liveNewAttempt        // the first chunk of a new delivery: scan restarted with it
	liveLost              // a chunk was missed: this delivery's output is incomplete
	liveIgnored           // not a chunk, or one of an incomplete or old delivery
)

// add takes an event; chunks in order are fed to scan.
func (l *liveStream) add(ev cluster.Event) int {
	if ev.Kind != cluster.EventChunk || ev.Attempt < l.attempt {
		return liveIgnored
	}
	what := liveNext
	if ev.Attempt > l.attempt {
		if l.attempt != 0 {
			what = liveNewAttempt
		}
		l.attempt, l.next, l.lost, l.scan = ev.Attempt, 1, false, streamScanner{}
	}
	if l.lost {
		return liveIgnored
	}
	if ev.Seq != l.next {
		l.lost = true
		return liveLost
	}
	l.next++
	l.scan.feed(ev.Data)
	return what
}
