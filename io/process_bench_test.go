//go:build unix

package io_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/vkio/vkio/io"
)

// Spawning and waiting for /bin/true: Spawn+Wait (os.StartProcess, a pidfd
// in the poller) against os/exec's Cmd.Run (os.StartProcess, wait4 on a
// thread).

func BenchmarkSpawnWaitIo(b *testing.B) {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	c := io.Command{Path: "/bin/true"}
	for b.Loop() {
		st, err := c.Run(x)
		if err != nil || !st.Success() {
			b.Fatal(st, err)
		}
	}
}

func BenchmarkSpawnWaitExec(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// Moving bytes through a pipe, 64 KiB writes and reads by two goroutines:
// io.Pipe (the poller, through the Io) against os.Pipe.

const pipeChunk = 64 << 10

func BenchmarkPipeIo(b *testing.B) {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	r, w, err := io.Pipe(x)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(x)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, pipeChunk)
		var err error
		for range b.N {
			if _, err = w.Write(x, buf); err != nil {
				break
			}
		}
		w.Close(x)
		done <- err
	}()
	b.SetBytes(pipeChunk)
	buf := make([]byte, pipeChunk)
	for {
		if _, err := r.Read(x, buf); err != nil {
			break
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPipeOS(b *testing.B) {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, pipeChunk)
		var err error
		for range b.N {
			if _, err = w.Write(buf); err != nil {
				break
			}
		}
		w.Close()
		done <- err
	}()
	b.SetBytes(pipeChunk)
	buf := make([]byte, pipeChunk)
	for {
		if _, err := r.Read(buf); err != nil {
			break
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// Opening and closing a regular file: OpenFile pays one fstat to find out
// whether the file is a pipe, FIFO, terminal or socket (see Pipe), against
// os.Open, which pays one too (to tell how to poll it).

func BenchmarkOpenCloseIo(b *testing.B) {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	p := b.TempDir() + "/f"
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f, err := io.Cwd().OpenFile(x, p, io.ReadOnly)
		if err != nil {
			b.Fatal(err)
		}
		f.Close(x)
	}
}

func BenchmarkOpenCloseOS(b *testing.B) {
	p := b.TempDir() + "/f"
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
