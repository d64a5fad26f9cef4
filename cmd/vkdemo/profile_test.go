package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	stdio "io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pprofFile is what readPprof decodes of a profile.proto file.
type pprofFile struct {
	strs    []string       // the string table
	samples int            // samples
	labels  map[string]int // samples by string label "key=value"
}

// readPprof decodes a gzipped pprof profile just far enough to list its
// strings and count its samples by label.
func readPprof(t *testing.T, path string) pprofFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: not a gzipped profile: %v", path, err)
	}
	raw, err := stdio.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p := pprofFile{labels: map[string]int{}}
	type label struct{ key, str uint64 }
	var labels []label
	err = protoWalk(raw, func(field int, _ uint64, b []byte) error {
		switch field {
		case 2: // Sample
			p.samples++
			return protoWalk(b, func(f int, _ uint64, lb []byte) error {
				if f != 3 {
					return nil
				}
				var l label
				err := protoWalk(lb, func(f int, v uint64, _ []byte) error {
					if f == 1 {
						l.key = v
					} else if f == 2 {
						l.str = v
					}
					return nil
				})
				labels = append(labels, l)
				return err
			})
		case 6: // string_table
			p.strs = append(p.strs, string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: bad profile: %v", path, err)
	}
	for _, l := range labels {
		if l.key >= uint64(len(p.strs)) || l.str >= uint64(len(p.strs)) {
			t.Fatalf("%s: label outside the string table", path)
		}
		if l.str != 0 {
			p.labels[p.strs[l.key]+"="+p.strs[l.str]]++
		}
	}
	return p
}

// protoWalk calls fn for each field of the protobuf message b.
func protoWalk(b []byte, fn func(field int, v uint64, b []byte) error) error {
	varint := func() (uint64, error) {
		var x uint64
		for s := uint(0); s < 64; s += 7 {
			if len(b) == 0 {
				return 0, errors.New("truncated varint")
			}
			c := b[0]
			b = b[1:]
			x |= uint64(c&0x7f) << s
			if c < 0x80 {
				return x, nil
			}
		}
		return 0, errors.New("varint too long")
	}
	for len(b) > 0 {
		key, err := varint()
		if err != nil {
			return err
		}
		field := int(key >> 3)
		switch key & 7 {
		case 0:
			v, err := varint()
			if err != nil {
				return err
			}
			if err := fn(field, v, nil); err != nil {
				return err
			}
		case 1:
			if len(b) < 8 {
				return errors.New("truncated")
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return errors.New("truncated")
			}
			b = b[4:]
		case 2:
			n, err := varint()
			if err != nil {
				return err
			}
			if n > uint64(len(b)) {
				return errors.New("truncated")
			}
			if err := fn(field, 0, b[:n]); err != nil {
				return err
			}
			b = b[n:]
		default:
			return fmt.Errorf("wire type %d", key&7)
		}
	}
	return nil
}

// checkProfiles checks the three files the flags write in dir, and that no
// temporary file was left beside them.
func checkProfiles(t *testing.T, dir string) pprofFile {
	t.Helper()
	cpu := readPprof(t, filepath.Join(dir, "p.out"))
	if !slices.Contains(cpu.strs, "cpu") || !slices.Contains(cpu.strs, "nanoseconds") {
		t.Errorf("p.out is not a CPU profile: strings %q", cpu.strs[:min(len(cpu.strs), 8)])
	}
	mem := readPprof(t, filepath.Join(dir, "m.out"))
	if !slices.Contains(mem.strs, "alloc_space") || mem.samples == 0 {
		t.Errorf("m.out is not a memory profile (%d samples): strings %q", mem.samples, mem.strs[:min(len(mem.strs), 8)])
	}
	tr, err := os.ReadFile(filepath.Join(dir, "e.out"))
	if err != nil || !bytes.HasPrefix(tr, []byte("go 1.")) {
		t.Errorf("e.out is not a Go execution trace (%v): %q", err, tr[:min(len(tr), 16)])
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	return cpu
}

var profileFlags = []string{"--cpuprofile", "p.out", "--memprofile", "m.out", "--exectrace", "e.out"}

// TestProfileFlags: the global profiling flags write a CPU profile, a memory
// profile and an execution trace of a pipeline run.
func TestProfileFlags(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, append(slices.Clone(profileFlags), "pipeline", "-n", "8", "-s", "256", "-o", "o", "--no-trace")...)
	cpu := checkProfiles(t, dir)
	// Whether the run lasted long enough for labelled samples depends on
	// the machine; the tasks package tests that labels are there.
	t.Logf("CPU profile: %d samples, by label %v", cpu.samples, cpu.labels)
	for l := range cpu.labels {
		if k, _, _ := strings.Cut(l, "="); k != "stage" && k != "frame" && k != "task" {
			t.Errorf("unexpected profile label %s", l)
		}
	}
}

// TestProfileFlagsOnError: a command that fails still writes its profiles;
// a profile that cannot be created fails the command before it runs.
func TestProfileFlagsOnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := vkdemo(t, dir, nil, append(slices.Clone(profileFlags), "pipeline", "-n", "2", "-s", "16", "-o", "afile/o", "--no-trace")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	checkProfiles(t, dir)

	r = vkdemo(t, dir, nil, "--cpuprofile", filepath.Join(dir, "missing", "p.out"), "devices")
	if r.code != 1 || !strings.Contains(r.stderr, "--cpuprofile") || r.stdout != "" {
		t.Errorf("profile in a missing folder: exit %d, stdout %q, stderr %q; want 1 naming --cpuprofile, nothing run", r.code, r.stdout, r.stderr)
	}
}

// TestProfileFlagsInterrupt: Ctrl-C during a run still writes complete
// profiles.
func TestProfileFlagsInterrupt(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(vkdemoBin, append(slices.Clone(profileFlags), "--frames", "1600", "--size", "64", "--out", "o", "--no-trace")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "saved ") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_, _ = stdio.Copy(stdio.Discard, stdout)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, stderr %q; want status 130", err, stderr.String())
	}
	checkProfiles(t, dir)
}
