package main

import (
	"errors"
	"fmt"
	stdio "io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/vkio/vkio/io"
)

// GET /results/PATH sends back a result a job saved at PATH under --out.
// The file goes out with the Io's zero-copy path: net/http hands a body of
// known length to the connection's ReadFrom (frontConn.ReadFrom), which is
// io.Conn.NetConn's, which sends a File.ReaderAt with Writer.SendFile:
// sendfile(2) from the page cache to the socket, no copy through user
// memory (see BenchmarkServeResult).

// resultChunk is the part of a result file one write sends: each is
// bounded by --write-timeout, as each frame of a stream is.
const resultChunk = 4 << 20

// serveZeroCopy lets frontConn.ReadFrom use the connection's ReadFrom (the
// Io's sendfile path); false copies through net/http's buffer instead, for
// BenchmarkServeResult's comparison.
var serveZeroCopy atomic.Bool

func init() { serveZeroCopy.Store(true) }

// serveResult answers GET or HEAD /results/PATH with the file saved at PATH
// under --out: 200 with its bytes (application/octet-stream and its
// Content-Length), 404 when there is no such file (or no --out), 400 for a
// path that no save could have written (the rules of save paths). The path
// is opened beneath --out, no symbolic link followed, as saves are.
func (s *server) serveResult(x io.Io, rw *respWriter, r *request, id uint64) int {
	if m := r.req.Method; m != http.MethodGet && m != http.MethodHead {
		rw.errorResponse(405, "use GET /results/PATH")
		return 405
	}
	if s.out == nil {
		rw.errorResponse(404, "no saved results: this server saves nothing (started without --out)")
		return 404
	}
	p := strings.TrimPrefix(r.req.URL.Path, "/results/")
	if err := checkSavePath(p); err != nil {
		rw.errorResponse(400, fmt.Sprintf("results/%s: %v", p, err))
		return 400
	}
	f, err := s.out.dir.OpenFileBeneath(x, p, io.ReadOnly)
	if err != nil {
		return s.resultError(rw, p, err)
	}
	defer f.Close(x)
	fi, err := f.Stat(x)
	if err != nil {
		return s.resultError(rw, p, err)
	}
	if !fi.Mode.IsRegular() {
		rw.errorResponse(404, fmt.Sprintf("no saved result %s: not a file", p))
		return 404
	}
	rw.deadline()
	rw.header(200, "Content-Type", "application/octet-stream", "Content-Length", strconv.FormatInt(fi.Size, 10),
		"X-Vkio-Request", strconv.FormatUint(id, 10))
	if err := rw.fail(rw.rc.Flush()); err != nil || r.req.Method == http.MethodHead {
		return 200
	}
	rd := f.ReaderAt(x, 0, nil)
	for sent := int64(0); sent < fi.Size; {
		rw.deadline()
		n, err := stdio.CopyN(rw.w, rd, min(resultChunk, fi.Size-sent))
		sent += n
		if err != nil {
			_ = rw.fail(err) // the client left, or the file was cut short: net/http closes the connection
			break
		}
	}
	return 200
}

// resultError answers a result that could not be opened.
func (s *server) resultError(rw *respWriter, p string, err error) int {
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		rw.errorResponse(404, fmt.Sprintf("no saved result %s", p))
		return 404
	case errors.Is(err, io.ErrOutside):
		rw.errorResponse(404, fmt.Sprintf("no saved result %s: results are read inside the server's --out folder, without following links", p))
		return 404
	}
	rw.errorResponse(500, saveErr(p, err).Error())
	return 500
}

// ReadFrom sends a response body of known length, which net/http hands to
// the connection, through the connection's own ReadFrom: the Io's
// zero-copy path for a result file (see serveResult).
func (c *frontConn) ReadFrom(r stdio.Reader) (int64, error) {
	rf, ok := c.Conn.(stdio.ReaderFrom)
	if !ok || !serveZeroCopy.Load() {
		return stdio.Copy(writerOnly{c}, r) // through Write, which counts the bytes
	}
	c.wrote.Store(true)
	n, err := rf.ReadFrom(r)
	c.s.bytesOut.Add(n)
	return n, err
}

// writerOnly hides a writer's ReadFrom from io.Copy.
type writerOnly struct{ stdio.Writer }
