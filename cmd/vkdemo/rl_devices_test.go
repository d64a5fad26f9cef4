package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFiles reads the deterministic outputs of an rl train job in dir:
// every file under seed-N/ but timing.jsonl (wall-clock measures).
func seedFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !strings.HasPrefix(rel, "seed-") || d.Name() == "timing.jsonl" {
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRLTrainDevices: rl train --devices 0,0 spreads the seeds'
// evaluations over two logical devices, and with one of them lost mid-job
// (the --inject-fault drill), every seed's outputs are still the bytes of
// the one-device job.
func TestRLTrainDevices(t *testing.T) {
	dir := t.TempDir()
	job := append(append([]string{}, tinyTrain...), "--seeds", "3", "--json")
	ok(t, dir, append(job, "--out", "one")...)
	want := seedFiles(t, filepath.Join(dir, "one"))
	if len(want) < 9 {
		t.Fatalf("the one-device job wrote %d seed files", len(want))
	}
	check := func(what, out string) {
		t.Helper()
		got := seedFiles(t, filepath.Join(dir, out))
		if len(got) != len(want) {
			t.Errorf("%s: %d seed files, want %d", what, len(got), len(want))
		}
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Errorf("%s: %s differs from the one-device job's (or is missing)", what, name)
			}
		}
	}
	out := ok(t, dir, append(job, "--out", "two", "--devices", "0,0")...)
	if !strings.Contains(out, "2 devices (") {
		t.Errorf("the report does not name the set:\n%s", out)
	}
	check("--devices 0,0", "two")

	r := vkdemo(t, dir, nil, append(job, "--out", "lost", "--devices", "0,0", "--inject-fault", "1:device-lost:4")...)
	if r.code != 0 || !strings.Contains(r.stderr, "vkdemo: devset: member taken out") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("device 1 lost: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	check("device 1 lost", "lost")

	if r := vkdemo(t, dir, nil, "--device", "cpu", "rl", "train", "--devices", "0,0", "--out", "cpu"); r.code != 2 || !strings.Contains(r.stderr, "--devices: the CPU evaluator") {
		t.Errorf("--device cpu with --devices: exit %d, %s", r.code, r.stderr)
	}
}
