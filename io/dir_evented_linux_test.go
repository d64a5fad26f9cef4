package io

import "testing"

// On Evented, symbolic and hard links are ring requests where the kernel
// has them (Linux 5.15), and system calls where it does not.
func TestEventedLinkRequests(t *testing.T) {
	for _, hide := range []bool{false, true} {
		if hide {
			eventedProbeHook = func(supported func(op uint8) bool, err error) (func(op uint8) bool, error) {
				return func(op uint8) bool { return op != 38 && op != 39 && supported(op) }, err
			}
		}
		e, err := NewEvented(EventedOptions{})
		eventedProbeHook = nil
		if err != nil {
			t.Skipf("no io_uring: %v", err)
		}
		x := e.Io()
		d, err := Cwd().OpenDir(x, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WriteFile(x, "f", []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		ring := e.has(38) && e.has(39)
		before := e.Stats().Submitted
		if err := d.Symlink(x, "f", "sym"); err != nil {
			t.Fatal(err)
		}
		if err := d.Link(x, "f", d, "hard"); err != nil {
			t.Fatal(err)
		}
		got := e.Stats().Submitted - before
		if target, err := d.ReadLink(x, "sym"); err != nil || target != "f" {
			t.Fatalf("ReadLink = %q, %v", target, err)
		}
		if fi, err := d.Stat(x, "hard"); err != nil || fi.Size != 1 {
			t.Fatalf("Stat of the hard link = %+v, %v", fi, err)
		}
		d.Close(x)
		e.Close()
		switch {
		case hide && (ring || got != 0):
			t.Fatalf("probe hiding SYMLINKAT/LINKAT: has %v, %d requests; want the system calls", ring, got)
		case !hide && ring && got != 2:
			t.Fatalf("with SYMLINKAT/LINKAT: %d requests, want 2", got)
		}
	}
}
