package main

import (
	"bufio"
	"bytes"
	stdio "io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/internal/pprofread"
)

// readPprof decodes the gzipped pprof profile at path.
func readPprof(t *testing.T, path string) *pprofread.Profile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pprofread.Read(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// checkProfiles checks the three files the flags write in dir, and that no
// temporary file was left beside them.
func checkProfiles(t *testing.T, dir string) *pprofread.Profile {
	t.Helper()
	cpu := readPprof(t, filepath.Join(dir, "p.out"))
	if !slices.Contains(cpu.Strings, "cpu") || !slices.Contains(cpu.Strings, "nanoseconds") {
		t.Errorf("p.out is not a CPU profile: strings %q", cpu.Strings[:min(len(cpu.Strings), 8)])
	}
	mem := readPprof(t, filepath.Join(dir, "m.out"))
	if !slices.Contains(mem.Strings, "alloc_space") || mem.Samples == 0 {
		t.Errorf("m.out is not a memory profile (%d samples): strings %q", mem.Samples, mem.Strings[:min(len(mem.Strings), 8)])
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
	t.Logf("CPU profile: %d samples, by label %v", cpu.Samples, cpu.Labels)
	for l := range cpu.Labels {
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
