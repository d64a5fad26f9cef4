package rl

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkio/vkio/io"
)

// trainQuad runs quadConfig with mod applied in dir (a fresh job) and
// fails the test on an error.
func trainQuad(t *testing.T, x io.Io, dir string, mod func(*TrainConfig)) TrainConfig {
	t.Helper()
	cfg := quadConfig()
	if mod != nil {
		mod(&cfg)
	}
	out := openOut(t, x, dir)
	if _, err := Train(x, newQuadEval(), cfg, TrainOptions{NoCurves: true, Out: &out}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestTrainResumeShortFile: a JSON Lines file shorter than its checkpoint
// says is refused, named with both sizes, and never grown.
func TestTrainResumeShortFile(t *testing.T) {
	x := io.NewBlocking().Io()
	for _, f := range []string{"stats.jsonl", "episodes.jsonl"} {
		t.Run(f, func(t *testing.T) {
			dir := t.TempDir()
			trainQuad(t, x, dir, func(c *TrainConfig) { c.Seeds = 1 })
			p := filepath.Join(dir, "seed-100", f)
			size := fileSize(t, p)
			if err := os.Truncate(p, size/2); err != nil {
				t.Fatal(err)
			}
			out := openOut(t, x, dir)
			_, err := Resume(x, newQuadEval(), out, TrainOptions{NoCurves: true})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "seed-100/"+f) ||
				!strings.Contains(err.Error(), "shorter") {
				t.Errorf("Resume with %s cut to %d of %d bytes: %v", f, size/2, size, err)
			}
			if got := fileSize(t, p); got != size/2 {
				t.Errorf("%s: %d bytes after the refused resume, want %d (untouched)", f, got, size/2)
			}
		})
	}
}

// TestTrainResumeTimingPartialLine: a partial last line of timing.jsonl (a
// process killed mid-write) is cut on resume, so every line is whole JSON.
func TestTrainResumeTimingPartialLine(t *testing.T) {
	x := io.NewBlocking().Io()
	cfg := quadConfig()
	cfg.Seeds = 1
	dir := t.TempDir()
	out := openOut(t, x, dir)
	xc, cancel := x.WithCancel()
	defer cancel()
	_, err := Train(xc, newQuadEval(), cfg, TrainOptions{NoCurves: true, Out: &out, Observer: func(s GenStats) {
		if s.Gen == 5 {
			cancel()
		}
	}})
	if !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled Train returned %v", err)
	}
	p := filepath.Join(dir, "seed-100", "timing.jsonl")
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"gen":6,"gpu_ms":0.`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Resume(x, newQuadEval(), out, TrainOptions{NoCurves: true}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("timing.jsonl line %d: %q", i+1, l)
		}
	}
	if len(lines) < cfg.Generations {
		t.Errorf("timing.jsonl: %d lines, want at least %d", len(lines), cfg.Generations)
	}
}

// TestTrainFreshJobInOldFolder: a fresh job in an old job's folder,
// interrupted before some runs opened their files, leaves none of the old
// job's checkpoints or outputs in its seeds' folders: the resume finishes
// it with the bytes of an uninterrupted job, and the user's files and other
// seeds' folders stay.
func TestTrainFreshJobInOldFolder(t *testing.T) {
	x := io.NewBlocking().Io() // one run at a time: the later ones never start
	dir := t.TempDir()
	trainQuad(t, x, dir, func(c *TrainConfig) { c.Seed, c.Seeds = 99, 4 }) // seeds 99 to 102
	note := filepath.Join(dir, "seed-101", "notes.txt")
	if err := os.WriteFile(note, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	newCfg := func(c *TrainConfig) { c.Generations, c.Seeds = 15, 2 } // seeds 100, 101
	ref := t.TempDir()
	trainQuad(t, x, ref, newCfg)
	want := hashRuns(t, ref)

	cfg := quadConfig()
	newCfg(&cfg)
	out := openOut(t, x, dir)
	xc, cancel := x.WithCancel()
	defer cancel()
	ev := newQuadEval()
	ev.hook = func(n int64) {
		if n == 3 { // in seed 100's run: seed 101's never opens its files
			cancel()
		}
	}
	if _, err := Train(xc, ev, cfg, TrainOptions{NoCurves: true, Out: &out}); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled Train returned %v", err)
	}
	for _, f := range []string{"checkpoint.ckpt", "stats.jsonl", "final.json", "traj"} {
		if _, err := os.Stat(filepath.Join(dir, "seed-101", f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("seed-101/%s of the old job is still there (%v)", f, err)
		}
	}
	if _, err := Resume(x, newQuadEval(), out, TrainOptions{NoCurves: true}); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	got := hashRuns(t, dir)
	for k := range got {
		if strings.HasPrefix(k, "seed-99/") || strings.HasPrefix(k, "seed-102/") || k == filepath.Join("seed-101", "notes.txt") {
			delete(got, k) // not this job's
		}
	}
	sameHashes(t, "a fresh job in an old folder, interrupted and resumed", got, want)
	if b, err := os.ReadFile(note); err != nil || string(b) != "mine\n" {
		t.Errorf("the user's file: %q, %v", b, err)
	}
	for _, s := range []string{"seed-99", "seed-102"} {
		if _, err := os.Stat(filepath.Join(dir, s, "checkpoint.ckpt")); err != nil {
			t.Errorf("another seed's folder: %v", err)
		}
	}
}

// TestTrainResumeRemovesParts: a resumed run removes the trajectories'
// .part files a killed process left.
func TestTrainResumeRemovesParts(t *testing.T) {
	x := io.NewBlocking().Io()
	cfg := quadConfig()
	cfg.Seeds = 1
	dir := t.TempDir()
	out := openOut(t, x, dir)
	xc, cancel := x.WithCancel()
	defer cancel()
	_, err := Train(xc, newQuadEval(), cfg, TrainOptions{NoCurves: true, Out: &out, Observer: func(s GenStats) {
		if s.Gen == 6 {
			cancel()
		}
	}})
	if !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled Train returned %v", err)
	}
	part := filepath.Join(dir, "seed-100", "traj", "gen-000005", "rewards.npy.part")
	if err := os.WriteFile(part, []byte("\x93NUMPY"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(x, newQuadEval(), out, TrainOptions{NoCurves: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(part); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there (%v)", part, err)
	}
}

// TestTrainJobCaps: a job whose runs together need too much memory is
// refused by Check, though each run alone passes; the tuned defaults pass
// with 4096 seeds.
func TestTrainJobCaps(t *testing.T) {
	for name, mod := range map[string]func(*TrainConfig){
		"parameters": func(c *TrainConfig) { // ~32 GB of perturbations
			c.Env, c.Policy, c.InputScale = "Pendulum-v1", MLP{Sizes: []int{3, 64, 64, 1}, Act: Tanh}, nil
			c.ES.Population, c.Seeds, c.Episodes, c.RecordSlots = 14000, 64, 1, 0
		},
		"slots": func(c *TrainConfig) { c.ES.Population, c.Episodes, c.Seeds, c.LogEpisodes = 1024, 16384, 8, false },
		"lines": func(c *TrainConfig) { c.ES.Population, c.Episodes, c.Seeds = 1024, 1024, 4 },
	} {
		c := quadConfig()
		mod(&c)
		one := c
		one.Seeds = 1
		if err := one.Check(); err != nil {
			t.Errorf("%s, one seed: %v", name, err)
		}
		if err := c.Check(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "lower the seeds") {
			t.Errorf("%s: Check returned %v", name, err)
		}
	}
	// Every default passes with 64 seeds at once; CartPole's (the issue's
	// 4096-seed target) with 4096. Pendulum's 128 × 8 episodes per
	// generation hit the episodes.jsonl cap at 4096 seeds: the message says
	// to log no episodes.
	for _, env := range TrainEnvs() {
		c, err := DefaultConfig(env)
		if err != nil {
			t.Fatal(err)
		}
		c.Seeds = 64
		if env == "CartPole-v1" {
			c.Seeds = 4096
		}
		if err := c.Check(); err != nil {
			t.Errorf("DefaultConfig(%s) with %d seeds: %v", env, c.Seeds, err)
		}
	}
}
