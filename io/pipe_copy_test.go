//go:build unix

package io_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// Kernel copies into and out of pipes: a pipe's descriptor is non-blocking
// (it waits in the poller), so SendFile and CopyTo must not hand it to
// sendfile or copy_file_range, which would fail with EAGAIN once the pipe
// is full (or empty) instead of waiting. The other end starts late, so the
// pipe fills (or stays empty) first.
func TestPipeKernelCopies(t *testing.T) {
	for _, nb := range []func() io.Backend{
		func() io.Backend { return io.NewBlocking() },
		func() io.Backend { return io.NewThreaded(io.ThreadedOptions{}) },
	} {
		b := nb()
		x := b.Io()
		t.Run(string(b.Kind()), func(t *testing.T) {
			data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			p := filepath.Join(t.TempDir(), "src")
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := io.Cwd().OpenFile(x, p, io.ReadOnly)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close(x)

			for _, how := range []string{"SendFile", "CopyTo"} {
				r, w, err := io.Pipe(x)
				if err != nil {
					t.Fatal(err)
				}
				got := make(chan []byte)
				go func() { // a late reader, on an Io of its own
					y := io.NewBlocking().Io()
					time.Sleep(50 * time.Millisecond)
					var all []byte
					buf := make([]byte, 64<<10)
					for {
						n, err := r.Read(y, buf)
						all = append(all, buf[:n]...)
						if err != nil {
							break
						}
					}
					r.Close(y)
					got <- all
				}()
				var n int64
				if how == "SendFile" {
					n, err = w.Writer(x, nil).SendFile(x, src, 0, -1)
				} else {
					var res io.CopyResult
					res, err = src.CopyTo(x, w, io.CopyAuto)
					n = res.Bytes
				}
				w.Close(x)
				all := <-got
				if err != nil || n != int64(len(data)) || !bytes.Equal(all, data) {
					t.Fatalf("%s into a pipe = %d, %v; the reader got %d bytes (equal: %v)", how, n, err, len(all), bytes.Equal(all, data))
				}
			}

			// Out of a pipe whose writer is late.
			r, w, err := io.Pipe(x)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close(x)
			dst, err := io.Cwd().CreateFile(x, filepath.Join(t.TempDir(), "dst"), io.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close(x)
			go func() {
				y := io.NewBlocking().Io()
				time.Sleep(50 * time.Millisecond)
				w.Write(y, []byte("hello"))
				w.Close(y)
			}()
			if res, err := r.CopyTo(x, dst, io.CopyAuto); err != nil || res.Bytes != 5 {
				t.Fatalf("CopyTo out of a pipe = %+v, %v", res, err)
			}
		})
		b.Close()
	}
}
