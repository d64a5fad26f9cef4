package rl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// run is one seed's training: its optimizer, its files and its writes in
// flight.
type run struct {
	t       *trainer
	seed    uint64
	cfg     TrainConfig // the job's, with Seed = seed and Seeds = 1
	cfgJSON []byte
	lane    string

	es  *ES
	fit []float64

	// Outputs (dir valid when t.opts.Out is set).
	dir                         io.Dir
	hasDir                      bool
	stats, episodes, timing     *io.File
	statsOff, epsOff, timingOff int64
	totalSteps                  int64
	stopped                     bool

	// The best check's θ (cfg.KeepBest).
	hasBest    bool
	bestGen    uint32
	bestReturn float64
	best       []float64

	// snap is the state at the start of the current generation: what a
	// cancellation saves.
	snap Checkpoint

	writes []*io.Future[struct{}] // ring of write batches in flight
	nw     int

	first time.Time // the run's first dispatch
	res   RunResult
}

func newRun(t *trainer, seed uint64) *run {
	cfg := t.cfg
	cfg.Seed, cfg.Seeds = seed, 1
	cj, _ := json.Marshal(cfg)
	return &run{
		t: t, seed: seed, cfg: cfg, cfgJSON: cj,
		lane:   "seed " + strconv.FormatUint(seed, 10),
		writes: make([]*io.Future[struct{}], t.opts.MaxWrites),
		res:    RunResult{Seed: seed},
	}
}

// main is the run's task.
func (r *run) main(x io.Io) (err error) {
	xw := x.WithoutCancel()
	defer func() {
		r.closeFiles(xw)
		r.res.Err = err
		r.res.Generations = int(r.es.genOr0())
		r.res.Steps = r.totalSteps
		end := xw.Now()
		if !r.first.IsZero() {
			r.res.Wall = end.Sub(r.first)
		}
		r.t.noteEnd(end)
	}()
	es, err := NewES(r.seed, r.cfg.Policy.NumParams(), r.cfg.ES, r.cfg.paramScale())
	if err != nil {
		return err
	}
	r.es = es
	r.fit = make([]float64, r.cfg.ES.Population)
	if r.t.opts.Out != nil {
		if err := r.open(x); err != nil {
			return err
		}
	}
	err = r.loop(x)
	if r.t.opts.Out != nil && (err == nil || errors.Is(err, io.ErrCanceled)) {
		// The checkpoint of the end, or of the start of the generation a
		// cancellation interrupted.
		if err == nil {
			r.takeSnapshot()
		}
		if ck, cerr := r.snap.MarshalBinary(); cerr != nil {
			err = cerr
		} else if werr := r.enqueue(xw, &batch{gen: -1, ckpt: ck}); werr != nil && err == nil {
			err = werr
		}
	}
	if werr := r.drain(xw); werr != nil && (err == nil || errors.Is(err, io.ErrCanceled)) {
		err = werr
	}
	if err != nil {
		return err
	}
	return r.final(x)
}

func (e *ES) genOr0() uint32 {
	if e == nil {
		return 0
	}
	return e.Gen
}

// takeSnapshot copies the current state into r.snap.
func (r *run) takeSnapshot() {
	s := &r.snap
	s.Config, s.Seed = r.cfg, r.seed
	s.Gen, s.Step, s.Stopped = r.es.Gen, r.es.Step, r.stopped
	s.Sigma, s.LR = r.es.Sigma(), r.es.LR()
	s.StatsBytes, s.EpisodesBytes = uint64(r.statsOff), uint64(r.epsOff)
	s.TotalSteps = uint64(r.totalSteps)
	s.Theta = append(s.Theta[:0], r.es.Theta...)
	s.M = append(s.M[:0], r.es.M...)
	s.V = append(s.V[:0], r.es.V...)
	s.HasBest, s.BestGen, s.BestReturn = r.hasBest, r.bestGen, r.bestReturn
	s.Best = append(s.Best[:0], r.best...) // empty without a best
}

// loop trains until the generation limit, the target (with StopAtTarget),
// an error or a cancellation.
func (r *run) loop(x io.Io) error {
	cfg, t, rec := &r.cfg, r.t, r.t.rec
	pop, eps := cfg.ES.Population, cfg.Episodes
	for int(r.es.Gen) < cfg.Generations && !r.stopped {
		r.takeSnapshot()
		if err := x.CheckCancel(); err != nil {
			return err
		}
		g := int(r.es.Gen)
		st := GenStats{Gen: g, Seed: r.seed, Sigma: r.es.Sigma(), LR: r.es.LR()}
		genStart := x.Now()

		reg := rec.Begin(tasks.CPU, r.lane, "ask", g)
		params := r.es.Ask()
		reg.End()
		record := 0
		if cfg.RecordEvery > 0 && g%cfg.RecordEvery == 0 {
			record = cfg.RecordSlots
		}
		req := EvalRequest{Seed: r.seed, Episode: uint32(g), Params: params, Members: pop, Episodes: eps, Record: record}
		res, err := r.evaluate(x, req, "evaluate")
		if err != nil {
			return err
		}
		st.GPU, st.Eval = res.GPU, x.Now().Sub(genStart)
		st.Steps = res.Steps

		upStart := x.Now()
		reg = rec.Begin(tasks.CPU, r.lane, "update", g)
		for m := range r.fit {
			var s float64
			for _, v := range res.Returns[m*eps : (m+1)*eps] {
				s += v
			}
			r.fit[m] = s / float64(eps)
		}
		sum := Summarize(r.fit)
		st.Mean, st.Max, st.Min, st.Std = sum.Mean, sum.Max, sum.Min, sum.Std
		u, err := r.es.Tell(r.fit)
		reg.End()
		if err != nil {
			return err
		}
		st.Update = x.Now().Sub(upStart)
		st.ThetaNorm = u.ThetaNorm

		if cfg.EvalEvery > 0 && (g+1)%cfg.EvalEvery == 0 && (!cfg.EvalGate || sum.Max >= cfg.Target) {
			cres, err := r.evaluate(x, EvalRequest{Seed: r.seed, Episode: EvalEpisodeBase | uint32(g), Params: r.es.Center(), Members: 1, Episodes: cfg.EvalEpisodes}, "center")
			if err != nil {
				return err
			}
			c := Summarize(cres.Returns)
			st.HasCenter, st.Center = true, c.Mean
			if cfg.KeepBest && (!r.hasBest || c.Mean > r.bestReturn) {
				r.hasBest, r.bestGen, r.bestReturn = true, uint32(g+1), c.Mean
				r.best = append(r.best[:0], r.es.Theta...)
			}
			st.Steps += cres.Steps
			if c.Mean >= cfg.Target && !r.res.Reached {
				r.res.Reached, r.res.ReachedGen, r.res.ReachedWall = true, g+1, x.Now().Sub(r.first)
			}
			if cfg.StopAtTarget && c.Mean >= cfg.Target+cfg.StopMargin {
				r.stopped = true
			}
		}
		r.totalSteps += st.Steps
		st.TotalSteps = r.totalSteps
		st.Wall = x.Now().Sub(genStart)

		if t.opts.Out != nil {
			b := &batch{gen: g}
			b.stats = st.appendStats(nil)
			b.timing = st.appendTiming(nil)
			b.statsOff, b.timingOff = r.statsOff, r.timingOff
			r.statsOff += int64(len(b.stats))
			r.timingOff += int64(len(b.timing))
			if cfg.LogEpisodes {
				b.episodes = appendEpisodes(nil, g, r.seed, eps, res)
				b.epsOff = r.epsOff
				r.epsOff += int64(len(b.episodes))
			}
			if res.Trajectory != nil {
				b.traj, b.trajDir = res.Trajectory, fmt.Sprintf("traj/gen-%06d", g)
			}
			if cfg.CheckpointEvery > 0 && (g+1)%cfg.CheckpointEvery == 0 {
				r.takeSnapshot()
				ck, err := r.snap.MarshalBinary()
				if err != nil {
					return err
				}
				b.ckpt = ck
			}
			if err := r.enqueue(x.WithoutCancel(), b); err != nil {
				return err
			}
		}
		if t.opts.Observer != nil {
			t.opts.Observer(st)
		}
	}
	return nil
}

// evaluate runs one evaluation and records it: the wait on the run's lane,
// the device's time on the GPU lanes.
func (r *run) evaluate(x io.Io, req EvalRequest, what string) (*EvalResult, error) {
	rec := r.t.rec
	start := x.Now()
	if r.first.IsZero() {
		r.first = start
	}
	frame := int(req.Episode &^ EvalEpisodeBase)
	if req.Episode == FinalEpisode {
		frame = -1
	}
	reg := rec.Begin(tasks.CPU, r.lane, what, frame).Waiting()
	r.t.evalStart(start)
	res, err := r.t.ev.Evaluate(x, req)
	end := x.Now()
	var gpu time.Duration
	if err == nil && res != nil {
		gpu = res.GPU
	}
	r.t.evalEnd(end, gpu)
	reg.End()
	if err != nil {
		return nil, err
	}
	if err := checkResult(req, res); err != nil {
		return nil, err
	}
	if rec != nil {
		s := start
		if res.GPU > 0 && res.GPU < end.Sub(start) {
			s = end.Add(-res.GPU)
		}
		rec.Add(tasks.Span{Res: tasks.GPU, Name: what + " " + r.lane, Start: s, End: end, Frame: frame})
	}
	return res, nil
}

// checkResult reports an evaluator's result that does not fit its request.
func checkResult(req EvalRequest, res *EvalResult) error {
	n := req.Members * req.Episodes
	switch {
	case res == nil:
		return errorf("evaluate", "the evaluator returned no result")
	case len(res.Returns) != n || len(res.Lengths) != n || len(res.Truncated) != n:
		return errorf("evaluate", "the evaluator returned %d returns, %d lengths and %d truncation flags for %d slots", len(res.Returns), len(res.Lengths), len(res.Truncated), n)
	case req.Record > 0 && (res.Trajectory == nil || res.Trajectory.E != req.Record):
		return errorf("evaluate", "the evaluator did not record the %d slots asked for", req.Record)
	}
	return nil
}

// final evaluates the center θ and writes final.json and the final
// trajectories.
func (r *run) final(x io.Io) error {
	cfg := &r.cfg
	var sum Summary
	var res *EvalResult
	if cfg.FinalEpisodes > 0 {
		var err error
		params := r.es.Center()
		if r.hasBest {
			params = make([]float32, len(r.best))
			for j, v := range r.best {
				params[j] = float32(v)
			}
			r.res.BestGen = int(r.bestGen)
		}
		req := EvalRequest{Seed: r.seed, Episode: FinalEpisode, Params: params, Members: 1, Episodes: cfg.FinalEpisodes, Record: min(cfg.RecordSlots, cfg.FinalEpisodes)}
		if res, err = r.evaluate(x, req, "final"); err != nil {
			return err
		}
		sum = Summarize(res.Returns)
		r.totalSteps += res.Steps
		r.res.Final = sum
		r.res.Solved = sum.Mean >= cfg.Target
	}
	if r.t.opts.Out == nil {
		return nil
	}
	xw := x.WithoutCancel()
	b := []byte(`{"env":`)
	b = strconv.AppendQuote(b, cfg.Env)
	b = append(b, `,"seed":`...)
	b = strconv.AppendUint(b, r.seed, 10)
	b = append(b, `,"generations":`...)
	b = strconv.AppendUint(b, uint64(r.es.Gen), 10)
	b = append(b, `,"stopped_at_target":`...)
	b = strconv.AppendBool(b, r.stopped)
	b = append(b, `,"total_steps":`...)
	b = strconv.AppendInt(b, r.totalSteps, 10)
	if r.hasBest {
		b = append(b, `,"best_gen":`...)
		b = strconv.AppendUint(b, uint64(r.bestGen), 10)
		b = appendField(b, "best_check", r.bestReturn)
	}
	b = appendField(b, "target", cfg.Target)
	b = append(b, `,"final":`...)
	if cfg.FinalEpisodes > 0 {
		b = sum.appendJSON(b)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"solved":`...)
	b = strconv.AppendBool(b, r.res.Solved)
	b = append(b, "}\n"...)
	if err := r.dir.WriteFile(xw, "final.json", b, 0o644); err != nil {
		return err
	}
	if res != nil && res.Trajectory != nil {
		return WriteTrajectory(xw, r.dir, "traj/final", res.Trajectory)
	}
	return nil
}

// open creates the run's folder and files, or reopens them and restores the
// run's state from its checkpoint (TrainOptions.Resume).
func (r *run) open(x io.Io) error {
	out := *r.t.opts.Out
	name := "seed-" + strconv.FormatUint(r.seed, 10)
	if err := out.MakePath(x, name, 0o755); err != nil {
		return err
	}
	dir, err := out.OpenDir(x, name)
	if err != nil {
		return err
	}
	r.dir, r.hasDir = dir, true
	var ck *Checkpoint
	if r.t.opts.Resume {
		ck, err = ReadCheckpoint(x, dir, "checkpoint.ckpt")
		switch {
		case errors.Is(err, fs.ErrNotExist):
			ck = nil
		case err != nil:
			return err
		}
	} else if err := dir.Remove(x, "checkpoint.ckpt"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if ck != nil {
		if err := r.restore(ck); err != nil {
			return err
		}
		// The trajectories' .part files of a killed process.
		if err := removeRunFiles(x, dir, false); err != nil {
			return err
		}
	}
	if r.cfg.RecordSlots > 0 && r.cfg.RecordEvery > 0 {
		if err := dir.MakePath(x, "traj", 0o755); err != nil {
			return err
		}
	}
	keep := io.CreateOptions{Keep: true, Perm: 0o644}
	open := func(p string, off int64) (*io.File, error) {
		f, err := dir.CreateFile(x, p, keep)
		if err != nil {
			return nil, err
		}
		// Cut the lines written after the checkpoint; never grow the file
		// (SetLength would pad it with zero bytes): one shorter than its
		// checkpoint says was cut or replaced, and the run cannot resume.
		fi, err := f.Stat(x)
		if err == nil && fi.Size < off {
			err = errorf("resume", "%s/%s is %d bytes, shorter than the %d its checkpoint covers: the file was cut or replaced (start the job over, without resume)", name, p, fi.Size, off)
		}
		if err == nil {
			err = f.SetLength(x, off)
		}
		if err != nil {
			f.Close(x)
			return nil, err
		}
		return f, nil
	}
	if r.stats, err = open("stats.jsonl", r.statsOff); err != nil {
		return err
	}
	if r.cfg.LogEpisodes {
		if r.episodes, err = open("episodes.jsonl", r.epsOff); err != nil {
			return err
		}
	}
	// timing.jsonl is not deterministic and no checkpoint covers it: a
	// resumed run appends to it (a generation run twice has two lines).
	if r.timing, err = dir.CreateFile(x, "timing.jsonl", io.CreateOptions{Keep: r.t.opts.Resume, Read: true, Perm: 0o644}); err != nil {
		return err
	}
	// A process killed mid-write can leave a partial last line: cut it,
	// so that the next line starts a line of its own.
	if r.timingOff, err = wholeLines(x, r.timing); err != nil {
		return err
	}
	return r.timing.SetLength(x, r.timingOff)
}

// wholeLines returns the length of f up to its last newline (0 without
// one), reading backwards from its end in blocks of 4 KiB.
func wholeLines(x io.Io, f *io.File) (int64, error) {
	fi, err := f.Stat(x)
	if err != nil {
		return 0, err
	}
	end := fi.Size
	var buf [4096]byte
	for end > 0 {
		n := min(end, int64(len(buf)))
		b := buf[:n]
		if _, err := f.ReadAt(x, b, end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// restore sets the run's state from ck.
func (r *run) restore(ck *Checkpoint) error {
	cj, _ := json.Marshal(ck.Config)
	switch {
	case ck.Seed != r.seed:
		return errorf("resume", "seed-%d's checkpoint is of seed %d", r.seed, ck.Seed)
	case !bytes.Equal(cj, r.cfgJSON):
		return errorf("resume", "seed-%d's checkpoint has another configuration: %s; this job's: %s", r.seed, cj, r.cfgJSON)
	}
	copy(r.es.Theta, ck.Theta)
	copy(r.es.M, ck.M)
	copy(r.es.V, ck.V)
	r.es.Step, r.es.Gen = ck.Step, ck.Gen
	r.stopped = ck.Stopped
	r.statsOff, r.epsOff = int64(ck.StatsBytes), int64(ck.EpisodesBytes)
	r.totalSteps = int64(ck.TotalSteps)
	r.hasBest, r.bestGen, r.bestReturn = ck.HasBest, ck.BestGen, ck.BestReturn
	r.best = append(r.best[:0], ck.Best...)
	return nil
}

func (r *run) closeFiles(x io.Io) {
	for _, f := range []**io.File{&r.stats, &r.episodes, &r.timing} {
		if *f != nil {
			(*f).Close(x)
			*f = nil
		}
	}
	if r.hasDir {
		r.dir.Close(x)
		r.hasDir = false
	}
}

// batch is one generation's writes.
type batch struct {
	gen                         int
	stats, timing, episodes     []byte
	statsOff, timingOff, epsOff int64
	traj                        *Trajectory
	trajDir                     string
	ckpt                        []byte
}

// enqueue starts b's writes as a task after the batches before it, once
// fewer than MaxWrites are in flight. x must not be cancelable: the writes
// of a canceled run still finish.
func (r *run) enqueue(x io.Io, b *batch) error {
	k := len(r.writes)
	slot := r.nw % k
	if f := r.writes[slot]; f != nil {
		r.writes[slot] = nil
		if _, err := f.Await(x); err != nil {
			return err
		}
	}
	prev := r.writes[(r.nw+k-1)%k]
	fn := func(x io.Io) (struct{}, error) {
		if prev != nil {
			if _, err := prev.Await(x); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, r.write(x, b)
	}
	f, err := io.Concurrent(x, fn)
	if err != nil {
		f = io.Async(x, fn)
	}
	r.writes[slot] = f
	r.nw++
	return nil
}

// drain waits for every write in flight and returns the first error.
func (r *run) drain(x io.Io) error {
	var first error
	k := len(r.writes)
	for i := range k {
		slot := (r.nw + i) % k
		if f := r.writes[slot]; f != nil {
			r.writes[slot] = nil
			if _, err := f.Await(x); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// write performs b: the lines at their offsets, the trajectories, and the
// checkpoint after the lines it covers are synced.
func (r *run) write(x io.Io, b *batch) error {
	reg := r.t.rec.Begin(tasks.Disk, r.lane, "write", b.gen)
	defer reg.End()
	for _, w := range []struct {
		f    *io.File
		data []byte
		off  int64
	}{{r.stats, b.stats, b.statsOff}, {r.episodes, b.episodes, b.epsOff}, {r.timing, b.timing, b.timingOff}} {
		if len(w.data) == 0 {
			continue
		}
		if _, err := w.f.WriteAt(x, w.data, w.off); err != nil {
			return err
		}
	}
	if b.traj != nil {
		if err := writeTrajectory(x, r.dir, b.trajDir, b.traj, false); err != nil {
			return err
		}
	}
	if b.ckpt != nil {
		for _, f := range []*io.File{r.stats, r.episodes} {
			if f != nil {
				if err := f.Sync(x); err != nil {
					return err
				}
			}
		}
		return r.dir.WriteFile(x, "checkpoint.ckpt", b.ckpt, 0o644)
	}
	return nil
}
