package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/npy"
	"github.com/vkio/vkio/rl"
)

// The rl tests run the built binary (see main_test.go) with the validation
// layer on: bad flags, a tiny CartPole training run and what it writes,
// Ctrl-C and resume (byte for byte against an uninterrupted run), eval,
// bench --json, render's PNGs, and the statistics stream.

// tinyTrain is a CartPole job that finishes in well under a second on
// lavapipe: 2 seeds, 3 generations of 8 members.
var tinyTrain = []string{"rl", "train", "--env", "cartpole", "--seeds", "2", "--generations", "3", "--no-stop",
	"--population", "8", "--eval-every", "1", "--eval-gate=false", "--eval-episodes", "4", "--final-episodes", "8",
	"--trajectories", "2", "--record-every", "2", "--checkpoint-every", "2"}

// TestRLBadFlags: every bad flag is a usage error (exit 2) with one line
// naming the flag, found before any work.
func TestRLBadFlags(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "not.ckpt")
	if err := os.WriteFile(ck, []byte("{\"env\": \"CartPole-v1\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad") // never created
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"rl", "nope"}, `rl: unknown command "nope"`},
		{[]string{"rl", "train", "--env", "walker"}, `--env "walker"`},
		{[]string{"rl", "train", "--seeds", "0"}, "--seeds 0"},
		{[]string{"rl", "train", "--population", "7"}, "--population 7"},
		{[]string{"rl", "train", "--sigma", "-1"}, "--sigma -1"},
		{[]string{"rl", "train", "--lr", "0"}, "--lr 0"},
		{[]string{"rl", "train", "--sigma", "x"}, "--sigma"},
		{[]string{"rl", "train", "--generations", "0"}, "--generations 0"},
		{[]string{"rl", "train", "--hidden", "32,x"}, `--hidden "32,x"`},
		{[]string{"rl", "train", "--hidden", "8,8,8"}, `--hidden "8,8,8"`},
		{[]string{"rl", "train", "--hidden", "65"}, `--hidden "65"`},
		{[]string{"rl", "train", "--activation", "sigmoid"}, `--activation "sigmoid"`},
		{[]string{"rl", "train", "--trajectories", "100000"}, "--trajectories 100000"},
		{[]string{"rl", "train", "--record-every", "3"}, "--record-every"},
		{[]string{"rl", "train", "--target", "NaN"}, "--target"},
		{[]string{"rl", "train", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"rl", "train", "--resume", dir, "--population", "4"}, "--population"},
		{[]string{"rl", "train", "--resume", dir}, "--resume " + dir},
		{[]string{"rl", "train", "--resume", filepath.Join(dir, "none")}, "--resume"},
		{[]string{"rl", "train", "--stream", "256.1.1.1:1", "--out", filepath.Join(dir, "o")}, "--stream"},
		{[]string{"rl", "eval"}, "--checkpoint"},
		{[]string{"rl", "eval", "--checkpoint", filepath.Join(dir, "none.ckpt")}, "--checkpoint " + filepath.Join(dir, "none.ckpt")},
		{[]string{"rl", "eval", "--checkpoint", ck}, "--checkpoint " + ck},
		{[]string{"rl", "eval", "--checkpoint", ck, "--episodes", "0"}, "--episodes 0"},
		{[]string{"rl", "eval", "--checkpoint", ck, "--trajectories", "2"}, "--out"},
		{[]string{"rl", "bench", "--envs", "0"}, "--envs 0"},
		{[]string{"rl", "bench", "--env", "nope"}, `--env "nope"`},
		{[]string{"rl", "bench", "--min-time", "-1s"}, "--min-time"},
		{[]string{"rl", "render", "--frames", "0"}, "--frames 0"},
		{[]string{"rl", "render", "--envs", "70000"}, "--envs 70000"},
		{[]string{"rl", "render", "--cell", "4x4"}, `--cell "4x4"`},
		{[]string{"rl", "render", "--cols", "20"}, "--cols 20"},
		{[]string{"rl", "render", "--autoreset", "sometimes"}, `--autoreset "sometimes"`},
		{[]string{"rl", "render", "--sim", "tpu"}, `--sim "tpu"`},
		{[]string{"rl", "render", "--checkpoint", ck, "--out", filepath.Join(dir, "r")}, "--checkpoint " + ck},
		{[]string{"--device", "cpu", "rl", "render"}, "--device cpu"},
		// Found by the configuration's or the renderer's checks, still
		// before --out or the device is touched.
		{[]string{"rl", "train", "--population", "65536", "--episodes", "65536", "--out", bad}, "population 65536"},
		{[]string{"rl", "train", "--hidden", "64,64", "--population", "65536", "--out", bad}, "population 65536"},
		{[]string{"rl", "render", "--envs", "65536", "--cell", "2048", "--out", bad}, "--envs 65536"},
		{[]string{"rl", "train", "--env", "pendulum", "--hidden", "64,64", "--population", "14000", "--seeds", "64", "--out", bad}, "lower the seeds"},
		{[]string{"rl", "eval", "--checkpoint", dir}, "--checkpoint " + dir + ": a folder"},
		{[]string{"rl", "render", "--checkpoint", dir, "--out", bad}, "--checkpoint " + dir + ": a folder"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := vkdemo(t, dir, nil, c.args...)
			checkFailure(t, r, exitUsage, c.msg)
			if _, err := os.Stat(bad); !os.IsNotExist(err) {
				t.Errorf("--out %s exists after the usage error (%v)", bad, err)
			}
		})
	}
}

// jsonLines decodes every line of the JSON Lines file p into maps, failing
// on a partial or malformed line.
func jsonLines(t *testing.T, p string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s: the last line is not complete", p)
	}
	var out []map[string]any
	for i, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" && len(b) == 0 {
			break
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: line %d: %v: %q", p, i+1, err, l)
		}
		out = append(out, m)
	}
	return out
}

// loadCheckpoint parses the checkpoint file p with package rl.
func loadCheckpoint(t *testing.T, p string) *rl.Checkpoint {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rl.LoadCheckpoint(b)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return c
}

// checkTrajectory checks the .npy files of a recorded trajectory in dir:
// E slots of ObsDim observations, float32 and bool arrays of matching
// shapes, valid steps a prefix per slot, and rewards zero where not valid.
func checkTrajectory(t *testing.T, dir string, e, obsDim int) {
	t.Helper()
	load := func(name string) npy.Array {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		a, err := npy.Read(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return a
	}
	obs, act, rew := load("obs.npy"), load("actions.npy"), load("rewards.npy")
	if obs.Descr != "<f4" || len(obs.Shape) != 3 || obs.Shape[1] != int64(e) || obs.Shape[2] != int64(obs.Shape[2]) || int(obs.Shape[2]) != obsDim {
		t.Fatalf("obs.npy: %s %v, want <f4 (T+1, %d, %d)", obs.Descr, obs.Shape, e, obsDim)
	}
	T := obs.Shape[0] - 1
	if act.Descr != "<f4" || len(act.Shape) != 3 || act.Shape[0] != T || act.Shape[1] != int64(e) {
		t.Errorf("actions.npy: %s %v, want <f4 (%d, %d, A)", act.Descr, act.Shape, T, e)
	}
	if rew.Descr != "<f4" || len(rew.Shape) != 2 || rew.Shape[0] != T || rew.Shape[1] != int64(e) {
		t.Errorf("rewards.npy: %s %v, want <f4 (%d, %d)", rew.Descr, rew.Shape, T, e)
	}
	var valid npy.Array
	for _, name := range []string{"terminated.npy", "truncated.npy", "valid.npy"} {
		a := load(name)
		if a.Descr != "|b1" || len(a.Shape) != 2 || a.Shape[0] != T || a.Shape[1] != int64(e) || len(a.Data) != int(T)*e {
			t.Errorf("%s: %v, want bool (%d, %d)", name, a.Shape, T, e)
		}
		if name == "valid.npy" {
			valid = a
		}
	}
	rs := f32s(rew.Data)
	for s := 0; s < e; s++ {
		ended := false
		length := 0
		for k := 0; k < int(T) && k*e+s < len(valid.Data); k++ {
			v := valid.Data[k*e+s]
			switch {
			case v > 1:
				t.Fatalf("valid[%d, %d] = %d: not a bool", k, s, v)
			case v == 1 && ended:
				t.Fatalf("slot %d valid again at step %d after its episode ended", s, k)
			case v == 0:
				ended = true
				if rs[k*e+s] != 0 {
					t.Fatalf("reward at invalid step %d of slot %d: %v", k, s, rs[k*e+s])
				}
			default:
				length++
			}
		}
		if length == 0 {
			t.Errorf("slot %d recorded no step", s)
		}
	}
}

// TestRLTrain trains a tiny CartPole job and checks every output: the
// --json report, summary.json, each seed's stats.jsonl (one complete line
// per generation), episodes.jsonl, final.json, the checkpoint (loaded by
// package rl), the trajectories (loaded by package npy), the learning
// curve and the trace. Then eval of the checkpoint reproduces final.json,
// render drives the environments with it, and a resumed finished job
// changes nothing.
func TestRLTrain(t *testing.T) {
	dir := t.TempDir()
	out := ok(t, dir, append(tinyTrain, "--out", "o", "--trace", "o/trace.json", "--timeline", "o/timeline.svg", "--json")...)
	var rep rlTrainReport
	if err := jsonDecoder(out).Decode(&rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if rep.Env != "CartPole-v1" || rep.Seeds != 2 || len(rep.Runs) != 2 || rep.Steps <= 0 || rep.WallMS <= 0 {
		t.Fatalf("report %+v", rep)
	}
	o := filepath.Join(dir, "o")
	if b, err := os.ReadFile(filepath.Join(o, "timeline.svg")); err != nil || !bytes.Contains(b[:min(len(b), 200)], []byte("<svg")) {
		t.Errorf("timeline.svg: %v", err)
	}
	for _, f := range []string{"config.json", "summary.json", "curve.svg", "curve.png", "trace.json"} {
		if fi, err := os.Stat(filepath.Join(o, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var summary map[string]any
	if b, err := os.ReadFile(filepath.Join(o, "summary.json")); err != nil || json.Unmarshal(b, &summary) != nil {
		t.Errorf("summary.json: %v %s", err, b)
	}
	var trace struct {
		TraceEvents []map[string]any `json:"traceEvents"`
	}
	if b, err := os.ReadFile(filepath.Join(o, "trace.json")); err != nil || json.Unmarshal(b, &trace) != nil || len(trace.TraceEvents) == 0 {
		t.Errorf("trace.json: %v, %d events", err, len(trace.TraceEvents))
	}
	for k, run := range rep.Runs {
		sd := filepath.Join(o, fmt.Sprintf("seed-%d", k))
		if run.Seed != uint64(k) || run.Generations != 3 || run.Final.N != 8 {
			t.Errorf("run %d: %+v", k, run)
		}
		stats := jsonLines(t, filepath.Join(sd, "stats.jsonl"))
		if len(stats) != 3 {
			t.Fatalf("seed %d: %d stats lines, want 3", k, len(stats))
		}
		for g, s := range stats {
			if s["gen"] != float64(g) || s["seed"] != float64(k) || s["mean"] == nil || s["center"] == nil {
				t.Errorf("seed %d line %d: %v", k, g, s)
			}
		}
		eps := jsonLines(t, filepath.Join(sd, "episodes.jsonl"))
		if len(eps) < 3*8 {
			t.Errorf("seed %d: %d episode lines, want at least 24", k, len(eps))
		}
		ck := loadCheckpoint(t, filepath.Join(sd, "checkpoint.ckpt"))
		if ck.Seed != uint64(k) || ck.Gen != 3 || ck.Config.Env != "CartPole-v1" || len(ck.Theta) != ck.Config.Policy.NumParams() {
			t.Errorf("seed %d checkpoint: seed %d gen %d env %s, %d parameters", k, ck.Seed, ck.Gen, ck.Config.Env, len(ck.Theta))
		}
		trajs, _ := filepath.Glob(filepath.Join(sd, "traj", "*"))
		if len(trajs) == 0 {
			t.Errorf("seed %d: no trajectories in %s", k, filepath.Join(sd, "traj"))
		}
		for _, td := range trajs {
			checkTrajectory(t, td, 2, 4)
		}
	}
	checkNoTemp(t, o)

	// eval reproduces the final evaluation (same seed, episode word and
	// episodes), on the GPU; on the CPU it runs too.
	var final struct {
		Final struct{ Mean float64 } `json:"final"`
	}
	if b, err := os.ReadFile(filepath.Join(o, "seed-1", "final.json")); err != nil || json.Unmarshal(b, &final) != nil {
		t.Fatalf("final.json: %v", err)
	}
	ck := filepath.Join("o", "seed-1", "checkpoint.ckpt")
	var ev rlEvalReport
	evOut := ok(t, dir, "rl", "eval", "--checkpoint", ck, "--episodes", "8", "--json")
	if err := jsonDecoder(evOut).Decode(&ev); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, evOut)
	}
	if ev.Return.N != 8 || ev.Return.Mean != final.Final.Mean || ev.Seed != 1 || ev.Env != "CartPole-v1" {
		t.Errorf("eval: %+v; final.json's mean %v", ev, final.Final.Mean)
	}
	if txt := ok(t, dir, "--device", "cpu", "rl", "eval", "--checkpoint", ck, "--episodes", "3", "--trajectories", "2", "--out", "ev"); !strings.Contains(txt, "return  mean") {
		t.Errorf("eval on the CPU:\n%s", txt)
	}
	checkTrajectory(t, filepath.Join(dir, "ev", "traj"), 2, 4)

	// render with the policy; a policy for another environment is refused.
	ok(t, dir, "rl", "render", "--checkpoint", ck, "--envs", "2", "--cell", "30x20", "--frames", "2", "--out", "r")
	checkFailure(t, vkdemo(t, dir, nil, "rl", "render", "--checkpoint", ck, "--env", "acrobot", "--out", "r2"), exitUsage, "not --env Acrobot-v1")

	// The same job on the Go reference's evaluator (--device cpu).
	ok(t, dir, append([]string{"--device", "cpu"}, append(tinyTrain, "--out", "cpu", "--json")...)...)
	if stats := jsonLines(t, filepath.Join(dir, "cpu", "seed-1", "stats.jsonl")); len(stats) != 3 {
		t.Errorf("--device cpu: %d stats lines, want 3", len(stats))
	}
	loadCheckpoint(t, filepath.Join(dir, "cpu", "seed-1", "checkpoint.ckpt"))

	// Resuming a finished job trains nothing and changes no output.
	before, _ := os.ReadFile(filepath.Join(o, "seed-0", "stats.jsonl"))
	ok(t, dir, "rl", "train", "--resume", "o", "--json")
	after, _ := os.ReadFile(filepath.Join(o, "seed-0", "stats.jsonl"))
	if !bytes.Equal(before, after) {
		t.Errorf("resuming a finished job changed stats.jsonl:\n%s\n---\n%s", before, after)
	}
}

// startRL starts vkdemo with args in dir, its stdout read line by line.
func startRL(t *testing.T, dir string, args ...string) (*exec.Cmd, chan string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(vkdemoBin, args...)
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
	t.Cleanup(func() { timer.Stop() })
	lines := make(chan string, 1<<12)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines, &stderr
}

// exitOf waits for cmd and returns its exit status.
func exitOf(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestRLInterruptResume: Ctrl-C mid-training exits 130 with every output
// complete (whole JSON lines, loadable checkpoints); --resume finishes the
// job, and its outputs are byte for byte those of an uninterrupted run (on
// another Io).
func TestRLInterruptResume(t *testing.T) {
	dir := t.TempDir()
	job := []string{"rl", "train", "--env", "cartpole", "--seeds", "2", "--generations", "300", "--no-stop",
		"--population", "8", "--eval-every", "0", "--final-episodes", "4", "--checkpoint-every", "5"}
	cmd, lines, stderr := startRL(t, dir, append(job, "--out", "cut")...)
	// Interrupt once both seeds have written a few generations.
	deadline := time.Now().Add(time.Minute)
	for {
		n0, _ := os.ReadFile(filepath.Join(dir, "cut", "seed-0", "stats.jsonl"))
		n1, _ := os.ReadFile(filepath.Join(dir, "cut", "seed-1", "stats.jsonl"))
		if bytes.Count(n0, []byte("\n")) >= 6 && bytes.Count(n1, []byte("\n")) >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress in a minute: %s", stderr)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var out []string
	for l := range lines {
		out = append(out, l)
	}
	code := exitOf(t, cmd)
	if code == 0 {
		t.Skip("the job finished before the interrupt (a very fast device): nothing to resume")
	}
	if code != exitInterrupted || strings.TrimSpace(stderr.String()) != "vkdemo: interrupted" {
		t.Fatalf("exit %d, stderr %q; want 130 and one line\n%s", code, stderr, strings.Join(out, "\n"))
	}
	if !strings.Contains(strings.Join(out, "\n"), "--resume cut") {
		t.Errorf("no resume hint:\n%s", strings.Join(out, "\n"))
	}
	cut := filepath.Join(dir, "cut")
	for k := 0; k < 2; k++ {
		sd := filepath.Join(cut, fmt.Sprintf("seed-%d", k))
		stats := jsonLines(t, filepath.Join(sd, "stats.jsonl"))
		jsonLines(t, filepath.Join(sd, "episodes.jsonl"))
		ck := loadCheckpoint(t, filepath.Join(sd, "checkpoint.ckpt"))
		if int(ck.Gen) > len(stats) || ck.Gen == 0 || ck.Gen >= 300 {
			t.Errorf("seed %d: checkpoint at generation %d, %d stats lines", k, ck.Gen, len(stats))
		}
	}
	checkNoTemp(t, cut)

	// The resumed part runs on another Io, the uninterrupted job on a
	// third: the bytes must not depend on it.
	ok(t, dir, "--io", "threaded", "rl", "train", "--resume", "cut", "--json")
	ok(t, dir, append([]string{"--io", "blocking"}, append(job, "--out", "whole", "--json")...)...)
	for k := 0; k < 2; k++ {
		for _, f := range []string{"stats.jsonl", "episodes.jsonl", "final.json", "checkpoint.ckpt"} {
			a, err1 := os.ReadFile(filepath.Join(cut, fmt.Sprintf("seed-%d", k), f))
			b, err2 := os.ReadFile(filepath.Join(dir, "whole", fmt.Sprintf("seed-%d", k), f))
			if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
				t.Errorf("seed %d %s: the resumed job's differs from the uninterrupted one's (%d and %d bytes; %v %v)", k, f, len(a), len(b), err1, err2)
			}
		}
	}
}

// TestRLStream reads the statistics stream of a training job over HTTP:
// the job's line, then generations, and after Ctrl-C a last line.
func TestRLStream(t *testing.T) {
	dir := t.TempDir()
	cmd, lines, stderr := startRL(t, dir, "rl", "train", "--env", "cartpole", "--generations", "100000", "--no-stop",
		"--population", "8", "--eval-every", "0", "--final-episodes", "0", "--no-episodes", "--stream", "127.0.0.1:0", "--out", "o")
	var url string
	for l := range lines {
		if _, rest, ok := strings.Cut(l, "streaming statistics on "); ok {
			url, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if url == "" {
		cmd.Process.Kill()
		t.Fatalf("no stream address; stderr %s", stderr)
	}
	go func() {
		for range lines {
		}
	}()
	resp, err := http.Get(url)
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/x-ndjson" {
		t.Errorf("status %d, content type %q", resp.StatusCode, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var got []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, m)
		if len(got) == 6 {
			cmd.Process.Signal(syscall.SIGINT)
		}
		if m["done"] == true {
			break
		}
	}
	if code := exitOf(t, cmd); code != exitInterrupted {
		t.Errorf("exit %d after SIGINT, want 130; stderr %s", code, stderr)
	}
	if len(got) < 7 || got[0]["env"] != "CartPole-v1" || got[len(got)-1]["done"] != true {
		t.Fatalf("stream: %v", got)
	}
	for i, m := range got[1 : len(got)-1] {
		if m["gen"] != float64(i) || m["mean"] == nil || m["seed"] != float64(0) {
			t.Errorf("line %d: %v", i+1, m)
		}
	}
}

// TestRLBenchJSON: bench --json on a small problem parses, with a row per
// policy and consistent ratios.
func TestRLBenchJSON(t *testing.T) {
	out := ok(t, "", "rl", "bench", "--env", "cartpole", "--envs", "64", "--steps", "10", "--min-time", "0s", "--json")
	var rep rlBenchReport
	if err := jsonDecoder(out).Decode(&rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Policy != "random" || rep.Rows[1].Policy != "mlp 4-32-2" || rep.Envs != 64 || rep.Cores < 1 {
		t.Fatalf("report: %+v", rep)
	}
	for _, r := range rep.Rows {
		if r.GPU <= 0 || r.CPU1 <= 0 || r.CPUAll <= 0 || r.Env != "CartPole-v1" {
			t.Errorf("row %+v", r)
		}
		if d := r.Vs1 - r.GPU/r.CPU1; d > 1e-9 || d < -1e-9 {
			t.Errorf("row %+v: ratio %v, want %v", r, r.Vs1, r.GPU/r.CPU1)
		}
	}
	txt := ok(t, "", "rl", "bench", "--env", "pendulum", "--envs", "32", "--steps", "5", "--min-time", "0s", "--no-mlp")
	if !strings.Contains(txt, "Pendulum-v1") || !strings.Contains(txt, "GPU/1 core") {
		t.Errorf("bench table:\n%s", txt)
	}
}

// TestRLRender: render writes one complete PNG of the grid's size per
// frame, for every environment, stepped on the GPU or the CPU.
func TestRLRender(t *testing.T) {
	dir := t.TempDir()
	for i, env := range []string{"cartpole", "acrobot", "pendulum", "mountaincar"} {
		o := filepath.Join(dir, env)
		// The environments step on the GPU, and for two of them on the Go
		// reference (--sim cpu), in both autoreset modes.
		sim, mode := []string{"gpu", "cpu"}[i%2], []string{"next-step", "same-step"}[i/2]
		txt := ok(t, dir, "rl", "render", "--env", env, "--envs", "3", "--cols", "2", "--cell", "40x30", "--frames", "3",
			"--sim", sim, "--autoreset", mode, "--out", env)
		if !strings.Contains(txt, "done: 3 frames") {
			t.Errorf("%s: %s", env, txt)
		}
		for k := 0; k < 3; k++ {
			f, err := os.Open(filepath.Join(o, fmt.Sprintf("frame-%05d.png", k)))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatalf("%s frame %d: %v", env, k, err)
			}
			if b := img.Bounds(); b.Dx() != 80 || b.Dy() != 60 {
				t.Errorf("%s frame %d: %dx%d, want 80x60", env, k, b.Dx(), b.Dy())
			}
		}
		checkNoTemp(t, o)
	}
}

// TestRLRenderInterrupt: Ctrl-C during a long render exits 130; every PNG
// reported saved is on disk and decodes, and no temporary file is left.
func TestRLRenderInterrupt(t *testing.T) {
	dir := t.TempDir()
	cmd, lines, stderr := startRL(t, dir, "rl", "render", "--env", "acrobot", "--envs", "4", "--cell", "24x24",
		"--frames", "100000", "--out", "o")
	// Interrupt once a few frames are saved (progress lines come every
	// eighth of the frames: too late here).
	for deadline := time.Now().Add(time.Minute); ; {
		if files, _ := filepath.Glob(filepath.Join(dir, "o", "frame-*.png")); len(files) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frames in a minute: %s", stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var out []string
	for l := range lines {
		out = append(out, l)
	}
	if code := exitOf(t, cmd); code != exitInterrupted || strings.TrimSpace(stderr.String()) != "vkdemo: interrupted" {
		t.Fatalf("exit %d, stderr %q; want 130 and one line\n%s", code, stderr, strings.Join(out, "\n"))
	}
	var saved int
	for _, l := range out {
		if _, err := fmt.Sscanf(l, "stopped: %d of", &saved); err == nil {
			break
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "o", "frame-*.png"))
	if saved == 0 || len(files) != saved {
		t.Fatalf("%d frames reported saved, %d on disk\n%s", saved, len(files), strings.Join(out, "\n"))
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != 48 || img.Bounds().Dy() != 48 {
			t.Fatalf("%s: %v", p, err)
		}
	}
	checkNoTemp(t, filepath.Join(dir, "o"))
}

// TestRLTrainRemovesStaleTemps: a killed job's temporary files, down to
// OUT/seed-N/traj/final, are removed when the next job starts.
func TestRLTrainRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "o", "seed-0", "traj", "final")
	if err := os.MkdirAll(final, 0o755); err != nil {
		t.Fatal(err)
	}
	// A dead writer's AtomicFile temporary (PID 2147483646 runs nowhere).
	stale := filepath.Join(final, ".obs.npy.2147483646-0123456789abcdef.tmp")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := vkdemo(t, dir, nil, append([]string{"--device", "cpu"}, append(tinyTrain, "--out", "o", "--json")...)...)
	if r.code != 0 || !strings.Contains(r.stderr, "removed 1 stale temporary file") {
		t.Errorf("exit %d, stderr %q; want 0 and the removal reported", r.code, r.stderr)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s is still there (%v)", stale, err)
	}
}

// TestRLTrainNoEvalChecks: --eval-every 0 turns off what needs the
// center's checks (stopping at the target, keeping the best θ, the gate)
// rather than failing; Pendulum's default keeps the best θ.
func TestRLTrainNoEvalChecks(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "--device", "cpu", "rl", "train", "--env", "pendulum", "--eval-every", "0", "--generations", "1",
		"--population", "2", "--final-episodes", "0", "--no-episodes", "--out", "o", "--json")
	cfg, err := rl.ParseConfig(mustRead(t, filepath.Join(dir, "o", "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EvalEvery != 0 || cfg.KeepBest || cfg.EvalGate || cfg.StopAtTarget {
		t.Errorf("config.json: eval every %d, keep best %v, gate %v, stop %v; want 0 and all off", cfg.EvalEvery, cfg.KeepBest, cfg.EvalGate, cfg.StopAtTarget)
	}
}

// TestRLResumeEvaluator: a job records what evaluated it (evaluator.json),
// and a resume on another evaluator is a usage error naming the flag.
func TestRLResumeEvaluator(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, append([]string{"--device", "cpu"}, append(tinyTrain, "--out", "c", "--json")...)...)
	if b := mustRead(t, filepath.Join(dir, "c", "evaluator.json")); strings.TrimSpace(string(b)) != `{"kind":"cpu"}` {
		t.Errorf("evaluator.json of a CPU job: %s", b)
	}
	checkFailure(t, vkdemo(t, dir, nil, "rl", "train", "--resume", "c"), exitUsage, "resume it with --device cpu")
	ok(t, dir, "--device", "cpu", "rl", "train", "--resume", "c", "--json")

	ok(t, dir, append(tinyTrain, "--out", "g", "--json")...)
	var rec rlEvaluatorRecord
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "g", "evaluator.json")), &rec); err != nil || rec.Kind != "gpu" || rec.Device == "" {
		t.Errorf("evaluator.json of a GPU job: %+v, %v", rec, err)
	}
	checkFailure(t, vkdemo(t, dir, nil, "--device", "cpu", "rl", "train", "--resume", "g"), exitUsage, "without --device cpu")
	if err := os.WriteFile(filepath.Join(dir, "g", "evaluator.json"), []byte(`{"kind":"gpu","device":"Another GPU"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	checkFailure(t, vkdemo(t, dir, nil, "rl", "train", "--resume", "g"), exitUsage, "with --device naming that GPU")
}
