package rl

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/npy"
	"github.com/vkio/vkio/tasks"
)

// quadEval is a synthetic Evaluator: a member's episode returns
// −‖p − c‖² plus small noise keyed by (seed, episode word, environment),
// and lasts 1 + member%5 steps. gpu > 0 simulates the device: each call
// holds one lock for gpu (a serial queue) and reports it as EvalResult.GPU.
type quadEval struct {
	c     []float64
	gpu   time.Duration
	mu    sync.Mutex
	calls atomic.Int64
	hook  func(n int64) // called at each Evaluate with the call's number, from 1
}

func newQuadEval() *quadEval {
	return &quadEval{c: []float64{0.5, -0.3, 0.8, 0.1, -0.6, 0.2}}
}

func (q *quadEval) Spec() EnvSpec {
	return EnvSpec{Name: "Quadratic-v0", StateDim: 2, ObsDim: 2, Actions: 2, ActDim: 1, MaxSteps: 5}
}
func (q *quadEval) Policy() MLP  { return MLP{Sizes: []int{2, 2}, Act: Tanh} }
func (q *quadEval) Close() error { return nil }

func (q *quadEval) Evaluate(x io.Io, req EvalRequest) (*EvalResult, error) {
	if err := x.CheckCancel(); err != nil {
		return nil, err
	}
	if q.hook != nil {
		q.hook(q.calls.Add(1))
	}
	res := &EvalResult{}
	if q.gpu > 0 {
		q.mu.Lock()
		err := x.Sleep(q.gpu)
		q.mu.Unlock()
		if err != nil {
			return nil, err
		}
		res.GPU = q.gpu
	}
	n := len(q.c)
	if len(req.Params) != req.Members*n {
		return nil, fmt.Errorf("quadEval: %d params for %d members", len(req.Params), req.Members)
	}
	key := [2]uint32{uint32(req.Seed), uint32(req.Seed >> 32)}
	for m := range req.Members {
		var d float64
		for j, c := range q.c {
			v := float64(req.Params[m*n+j]) - c
			d += v * v
		}
		for k := range req.Episodes {
			w := Philox4x32([4]uint32{uint32(k) + req.EnvBase, req.Episode, 0, 7}, key)
			res.Returns = append(res.Returns, -d+0.001*float64(w[0]>>8)*0x1p-24)
			l := int32(1 + m%5)
			res.Lengths = append(res.Lengths, l)
			res.Truncated = append(res.Truncated, l == 5)
			res.Steps += int64(l)
		}
	}
	if req.Record > 0 {
		T, E := 5, req.Record
		tr := &Trajectory{T: T, E: E, ObsDim: 2, ActDim: 1,
			Obs: make([]float32, (T+1)*E*2), Actions: make([]float32, T*E), Rewards: make([]float32, T*E),
			Terminated: make([]bool, T*E), Truncated: make([]bool, T*E), Valid: make([]bool, T*E)}
		for e := range E {
			l := int(res.Lengths[e])
			for s := range l {
				tr.Valid[s*E+e] = true
				tr.Rewards[s*E+e] = float32(res.Returns[e]) / float32(l)
				tr.Actions[s*E+e] = float32(s % 2)
				tr.Obs[((s+1)*E+e)*2] = req.Params[(e/req.Episodes)*n] * float32(s)
			}
			tr.Truncated[(l-1)*E+e] = l == 5
			tr.Terminated[(l-1)*E+e] = l != 5
		}
		res.Trajectory = tr
	}
	return res, nil
}

func quadConfig() TrainConfig {
	return TrainConfig{
		Env: "Quadratic-v0", Policy: MLP{Sizes: []int{2, 2}, Act: Tanh}, InputScale: []float64{1, 0.5},
		ES:   ESConfig{Population: 8, Sigma: Schedule{Init: 0.1, Decay: 0.98, Min: 0.05}, LR: Schedule{Init: 0.05}, WeightDecay: 0.005, InitStd: 0.1},
		Seed: 100, Seeds: 3, Episodes: 2, Generations: 12,
		Target: -0.05, EvalEvery: 3, EvalEpisodes: 4, FinalEpisodes: 5, KeepBest: true,
		CheckpointEvery: 4, RecordSlots: 3, RecordEvery: 5, LogEpisodes: true,
	}
}

// eachIo runs fn on each Io implementation io.New knows here.
func eachIo(t *testing.T, fn func(t *testing.T, x io.Io)) {
	for _, kind := range []string{"blocking", "threaded", "evented"} {
		t.Run(kind, func(t *testing.T) {
			b, err := io.New(kind)
			if err != nil {
				t.Skipf("io.New(%q): %v", kind, err)
			}
			defer b.Close()
			fn(t, b.Io())
		})
	}
}

func openOut(t *testing.T, x io.Io, p string) io.Dir {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := io.Cwd().OpenDir(x, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(x) })
	return d
}

// hashRuns returns the sha256 of every deterministic file under dir/seed-*,
// by path relative to dir.
func hashRuns(t *testing.T, dir string) map[string]string {
	t.Helper()
	h := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !strings.HasPrefix(rel, "seed-") || strings.HasSuffix(rel, "timing.jsonl") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := sha256.Sum256(data)
		h[rel] = hex.EncodeToString(s[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func sameHashes(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: %s differs: %.12s vs %.12s", what, k, got[k], want[k])
			if bad++; bad > 5 {
				return
			}
		}
	}
}

func TestTrainOutputs(t *testing.T) {
	x := io.NewBlocking().Io()
	dir := t.TempDir()
	out := openOut(t, x, dir)
	var seen atomic.Int64
	cfg := quadConfig()
	res, err := Train(x, newQuadEval(), cfg, TrainOptions{Out: &out, Observer: func(GenStats) { seen.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seen.Load(), int64(cfg.Seeds*cfg.Generations); got != want {
		t.Errorf("observer saw %d generations, want %d", got, want)
	}
	if len(res.Runs) != 3 || res.Runs[1].Seed != 101 || res.Runs[2].Generations != 12 || res.Runs[0].Final.N != 5 {
		t.Errorf("runs %+v", res.Runs)
	}
	// stats.jsonl: one parseable line per generation, center every 3rd.
	data, err := os.ReadFile(filepath.Join(dir, "seed-101", "stats.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 12 {
		t.Fatalf("%d stats lines, want 12", len(lines))
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if m["gen"].(float64) != float64(i) || m["seed"].(float64) != 101 {
			t.Errorf("line %d: %s", i, l)
		}
		if _, ok := m["center"]; ok != ((i+1)%3 == 0) {
			t.Errorf("line %d: center present %v", i, ok)
		}
	}
	// episodes.jsonl: population × episodes lines per generation.
	data, _ = os.ReadFile(filepath.Join(dir, "seed-100", "episodes.jsonl"))
	if n := bytes.Count(data, []byte("\n")); n != 12*8*2 {
		t.Errorf("%d episode lines, want %d", n, 12*8*2)
	}
	// Trajectories of generations 0, 5, 10 and the final evaluation.
	for _, g := range []string{"gen-000000", "gen-000005", "gen-000010", "final"} {
		for _, f := range []struct {
			name, descr string
			shape       []int64
		}{{"obs.npy", "<f4", []int64{6, 3, 2}}, {"actions.npy", "<f4", []int64{5, 3, 1}}, {"rewards.npy", "<f4", []int64{5, 3}}, {"valid.npy", "|b1", []int64{5, 3}}, {"terminated.npy", "|b1", []int64{5, 3}}, {"truncated.npy", "|b1", []int64{5, 3}}} {
			b, err := os.ReadFile(filepath.Join(dir, "seed-102", "traj", g, f.name))
			if err != nil {
				t.Fatal(err)
			}
			a, err := npy.Read(b)
			if err != nil {
				t.Fatalf("%s/%s: %v", g, f.name, err)
			}
			if a.Descr != f.descr || !slices.Equal(a.Shape, f.shape) {
				t.Errorf("%s/%s: %s %v, want %s %v", g, f.name, a.Descr, a.Shape, f.descr, f.shape)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "seed-100", "traj", "gen-000001")); err == nil {
		t.Errorf("generation 1 recorded a trajectory (every 5)")
	}
	// final.json, summary.json, config.json, curves, checkpoint.
	for _, f := range []string{"config.json", "summary.json", "seed-100/final.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("%s: %v\n%s", f, err, b)
		}
	}
	for _, f := range []string{"curve.svg", "curve.png"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
	ck, err := ReadCheckpoint(x, out, "seed-101/checkpoint.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	if ck.Gen != 12 || ck.Seed != 101 || ck.Config.Seeds != 1 || int(ck.StatsBytes) != len(lines[0])*0+int(fileSize(t, filepath.Join(dir, "seed-101", "stats.jsonl"))) {
		t.Errorf("final checkpoint: gen %d seed %d seeds %d stats %d", ck.Gen, ck.Seed, ck.Config.Seeds, ck.StatsBytes)
	}
}

func fileSize(t *testing.T, p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestTrainDeterminism: the same configuration gives the same bytes on
// every Io, and whether seeds run together or one at a time.
func TestTrainDeterminism(t *testing.T) {
	cfg := quadConfig()
	var want map[string]string
	eachIo(t, func(t *testing.T, x io.Io) {
		dir := t.TempDir()
		out := openOut(t, x, dir)
		ev := newQuadEval()
		ev.gpu = 200 * time.Microsecond
		if _, err := Train(x, ev, cfg, TrainOptions{NoCurves: true, Out: &out}); err != nil {
			t.Fatal(err)
		}
		got := hashRuns(t, dir)
		if len(got) < 3*5 {
			t.Fatalf("only %d files", len(got))
		}
		if want == nil {
			want = got
			// One seed at a time.
			for k := range cfg.Seeds {
				c := cfg
				c.Seed, c.Seeds = cfg.Seed+uint64(k), 1
				if _, err := Train(x, newQuadEval(), c, TrainOptions{NoCurves: true, Out: &out, MaxWrites: 1}); err != nil {
					t.Fatal(err)
				}
			}
			sameHashes(t, "one seed at a time", hashRuns(t, dir), want)
			return
		}
		sameHashes(t, x.String(), got, want)
	})
}

// TestTrainResume: runs canceled midway (or before they started) and
// resumed end with the same bytes as uninterrupted runs.
func TestTrainResume(t *testing.T) {
	cfg := quadConfig()
	cfg.Seeds, cfg.RecordEvery = 2, 0 // TestTrainDeterminism covers the trajectories
	eachIo(t, func(t *testing.T, x io.Io) {
		ref := t.TempDir()
		refOut := openOut(t, x, ref)
		if _, err := Train(x, newQuadEval(), cfg, TrainOptions{NoCurves: true, Out: &refOut}); err != nil {
			t.Fatal(err)
		}
		want := hashRuns(t, ref)

		// Canceled after 17 evaluations (mid-run for both seeds).
		dir := t.TempDir()
		out := openOut(t, x, dir)
		xc, cancel := x.WithCancel()
		defer cancel()
		ev := newQuadEval()
		ev.hook = func(n int64) {
			if n == 10 {
				cancel()
			}
		}
		_, err := Train(xc, ev, cfg, TrainOptions{NoCurves: true, Out: &out})
		if !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("canceled Train returned %v", err)
		}
		ck, err := ReadCheckpoint(x, out, "seed-100/checkpoint.ckpt")
		if err != nil {
			t.Fatal(err)
		}
		if ck.Gen == 0 || ck.Gen >= 12 {
			t.Errorf("canceled run's checkpoint at generation %d", ck.Gen)
		}
		if _, err := Resume(x, newQuadEval(), out, TrainOptions{NoCurves: true}); err != nil {
			t.Fatal(err)
		}
		sameHashes(t, "resumed after cancel", hashRuns(t, dir), want)
	})
}

// TestTrainResumeCrash resumes from a checkpoint older than the stats
// written after it: the stats are cut back and rewritten identically.
func TestTrainResumeCrash(t *testing.T) {
	x := io.NewBlocking().Io()
	cfg := quadConfig()
	cfg.Seeds = 1
	ref := t.TempDir()
	refOut := openOut(t, x, ref)
	if _, err := Train(x, newQuadEval(), cfg, TrainOptions{NoCurves: true, Out: &refOut}); err != nil {
		t.Fatal(err)
	}
	want := hashRuns(t, ref)
	dir := t.TempDir()
	out := openOut(t, x, dir)
	ckpt := filepath.Join(dir, "seed-100", "checkpoint.ckpt")
	var saved []byte
	xc, cancel := x.WithCancel()
	defer cancel()
	// Blocking and one write in flight: the observer of generation 9 runs
	// after generation 7's checkpoint (of generation 8) is on disk.
	_, err := Train(xc, newQuadEval(), cfg, TrainOptions{NoCurves: true, Out: &out, MaxWrites: 1, Observer: func(s GenStats) {
		switch s.Gen {
		case 9:
			var err error
			if saved, err = os.ReadFile(ckpt); err != nil {
				t.Error(err)
			}
		case 10:
			cancel()
		}
	}})
	if !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled Train returned %v", err)
	}
	if c, err := LoadCheckpoint(saved); err != nil || c.Gen != 8 {
		t.Fatalf("saved checkpoint: %v, %v", c, err)
	}
	if err := os.WriteFile(ckpt, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(x, newQuadEval(), out, TrainOptions{NoCurves: true}); err != nil {
		t.Fatal(err)
	}
	sameHashes(t, "resumed from an older checkpoint", hashRuns(t, dir), want)
}

// TestTrainCancel: canceling a multi-seed job leaves every checkpoint
// loadable, every JSON Lines file whole lines, and no goroutine behind.
func TestTrainCancel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	eachIo(t, func(t *testing.T, x io.Io) {
		dir := t.TempDir()
		out := openOut(t, x, dir)
		cfg := quadConfig()
		cfg.Seeds, cfg.Generations, cfg.CheckpointEvery = 6, 1000, 7
		ev := newQuadEval()
		ev.gpu = 100 * time.Microsecond
		xc, cancel := x.WithCancel()
		defer cancel()
		ev.hook = func(n int64) {
			if n == 60 {
				cancel()
			}
		}
		res, err := Train(xc, ev, cfg, TrainOptions{NoCurves: true, Out: &out})
		if !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("Train returned %v", err)
		}
		for k := range cfg.Seeds {
			seed := cfg.Seed + uint64(k)
			sd := filepath.Join(dir, fmt.Sprintf("seed-%d", seed))
			ck, err := ReadCheckpoint(x, out, fmt.Sprintf("seed-%d/checkpoint.ckpt", seed))
			if errors.Is(err, os.ErrNotExist) && k > 0 && x.Kind() == io.KindBlocking {
				continue // one run at a time: the cancellation came first
			}
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			for _, f := range []string{"stats.jsonl", "episodes.jsonl", "timing.jsonl"} {
				data, err := os.ReadFile(filepath.Join(sd, f))
				if err != nil {
					t.Fatal(err)
				}
				if len(data) > 0 && data[len(data)-1] != '\n' {
					t.Errorf("seed %d %s ends in a partial line", seed, f)
				}
				sc := bufio.NewScanner(bytes.NewReader(data))
				n := 0
				for sc.Scan() {
					n++
					if !json.Valid(sc.Bytes()) {
						t.Errorf("seed %d %s line %d: %q", seed, f, n, sc.Text())
					}
				}
				if f == "stats.jsonl" && n != int(ck.Gen) || f == "stats.jsonl" && uint64(len(data)) != ck.StatsBytes {
					t.Errorf("seed %d: %d stats lines (%d bytes), checkpoint at generation %d (%d bytes)", seed, n, len(data), ck.Gen, ck.StatsBytes)
				}
			}
			if res.Runs[k].Err == nil {
				t.Errorf("seed %d: no error after the cancellation", seed)
			}
		}
	})
}

// TestTrainTrace: the recorder sees every evaluation on the GPU lanes and
// each run's CPU work on its own lane; the result reports GPU idle time.
func TestTrainTrace(t *testing.T) {
	b := io.NewThreaded(io.ThreadedOptions{})
	x := b.Io()
	rec := tasks.NewRecorder()
	cfg := quadConfig()
	cfg.Seeds, cfg.RecordEvery = 4, 0
	ev := newQuadEval()
	ev.gpu = time.Millisecond
	dir := t.TempDir()
	out := openOut(t, x, dir)
	res, err := Train(x.WithObserver(rec), ev, cfg, TrainOptions{NoCurves: true, Out: &out, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	gpu, lanes, disk := 0, map[string]bool{}, 0
	for _, s := range rec.Spans() {
		switch s.Res {
		case tasks.GPU:
			gpu++
		case tasks.CPU:
			lanes[s.Lane] = true
		case tasks.Disk:
			disk++
		}
	}
	// Per seed: 12 generations, 4 center checks, 1 final evaluation.
	if want := 4 * (12 + 4 + 1); gpu != want {
		t.Errorf("%d GPU spans, want %d", gpu, want)
	}
	if len(lanes) != 4 || !lanes["seed 103"] {
		t.Errorf("CPU lanes %v", lanes)
	}
	if disk == 0 {
		t.Errorf("no disk spans")
	}
	if !(res.GPUIdle >= 0 && res.GPUIdle < 1) || res.GPUBusy <= 0 || res.Wall < res.GPUBusy {
		t.Errorf("GPU idle %v busy %v wall %v", res.GPUIdle, res.GPUBusy, res.Wall)
	}
	var buf bytes.Buffer
	if err := rec.WriteTrace(&buf); err != nil || !json.Valid(buf.Bytes()) {
		t.Errorf("trace: %v", err)
	}
}

// TestTrainSolvesQuadratic: with enough generations the runs reach the
// target and stop there.
func TestTrainSolvesQuadratic(t *testing.T) {
	cfg := quadConfig()
	cfg.Generations, cfg.StopAtTarget, cfg.EvalEvery, cfg.Target = 500, true, 5, -0.01
	cfg.ES.LR = Schedule{Init: 0.05}
	res, err := Train(io.NewBlocking().Io(), newQuadEval(), cfg, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Runs {
		if !r.Reached || !r.Solved || r.Generations >= 500 || r.Final.Mean < -0.01 {
			t.Errorf("seed %d: reached %v at %d, solved %v, final %+v", r.Seed, r.Reached, r.ReachedGen, r.Solved, r.Final)
		}
	}
}

func TestTrainConfigErrors(t *testing.T) {
	x := io.NewBlocking().Io()
	ev := newQuadEval()
	for name, mod := range map[string]func(*TrainConfig){
		"other env":         func(c *TrainConfig) { c.Env = "CartPole-v1" },
		"other policy":      func(c *TrainConfig) { c.Policy.Sizes = []int{2, 4, 2} },
		"no seeds":          func(c *TrainConfig) { c.Seeds = 0 },
		"no generations":    func(c *TrainConfig) { c.Generations = 0 },
		"stop without eval": func(c *TrainConfig) { c.StopAtTarget, c.EvalEvery = true, 0 },
		"too many recorded": func(c *TrainConfig) { c.RecordSlots = 17 },
		"NaN target":        func(c *TrainConfig) { c.Target = math.NaN() },
		"odd population":    func(c *TrainConfig) { c.ES.Population = 7 },
		"huge sizes":        func(c *TrainConfig) { c.Policy.Sizes = []int{2, 1 << 30, 2} },
		"scale not pow2":    func(c *TrainConfig) { c.InputScale = []float64{1, 3} },
		"scale count":       func(c *TrainConfig) { c.InputScale = []float64{1} },
		"negative margin":   func(c *TrainConfig) { c.StopMargin = -1 },
	} {
		c := quadConfig()
		mod(&c)
		_, err := Train(x, ev, c, TrainOptions{})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Train returned %v, want ErrInvalid", name, err)
		}
	}
	for _, env := range TrainEnvs() {
		c, err := DefaultConfig(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Check(); err != nil {
			t.Errorf("DefaultConfig(%s): %v", env, err)
		}
	}
	if _, err := DefaultConfig("Pong"); err == nil || !strings.Contains(err.Error(), "CartPole-v1") {
		t.Errorf("DefaultConfig(Pong): %v", err)
	}
}

// TestTrainMemoryFlat: a run's heap does not grow with its generations
// (buffers are reused; lines and batches are garbage once written).
func TestTrainMemoryFlat(t *testing.T) {
	x := io.NewBlocking().Io()
	dir := t.TempDir()
	out := openOut(t, x, dir)
	cfg := quadConfig()
	cfg.Seeds, cfg.Generations, cfg.RecordEvery, cfg.CheckpointEvery, cfg.EvalEvery = 1, 2000, 500, 250, 10
	heap := map[int]uint64{}
	_, err := Train(x, newQuadEval(), cfg, TrainOptions{NoCurves: true, Out: &out, Observer: func(s GenStats) {
		if s.Gen == 400 || s.Gen == 1999 {
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			heap[s.Gen] = m.HeapAlloc
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("heap at generation 400: %d bytes, at 1999: %d", heap[400], heap[1999])
	if len(heap) != 2 {
		t.Fatalf("heap measured at %v", heap)
	}
	if grow := int64(heap[1999]) - int64(heap[400]); grow > 256<<10 {
		t.Errorf("heap grew by %d bytes from generation 400 (%d) to 1999 (%d)", grow, heap[400], heap[1999])
	}
}
