package rl

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"strconv"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/npy"
)

// writeConfig writes the job's config.json.
func (t *trainer) writeConfig(x io.Io) error {
	b, err := json.MarshalIndent(t.cfg, "", "  ")
	if err != nil {
		return err
	}
	return t.opts.Out.WriteFile(x, "config.json", append(b, '\n'), 0o644)
}

// writeSummary writes summary.json: per run what it reached and how fast.
// Its wall-clock fields make it differ between equal runs.
func (t *trainer) writeSummary(x io.Io, res *TrainResult) error {
	solved := 0
	for _, r := range res.Runs {
		if r.Solved {
			solved++
		}
	}
	b := []byte(`{"env":`)
	b = strconv.AppendQuote(b, t.cfg.Env)
	b = append(b, `,"seeds":`...)
	b = strconv.AppendInt(b, int64(len(res.Runs)), 10)
	b = append(b, `,"solved":`...)
	b = strconv.AppendInt(b, int64(solved), 10)
	b = appendField(b, "target", t.cfg.Target)
	b = appendField(b, "wall_ms", ms(res.Wall))
	b = appendField(b, "gpu_busy_ms", ms(res.GPUBusy))
	b = appendField(b, "gpu_idle", res.GPUIdle)
	b = appendField(b, "eval_idle", res.EvalIdle)
	b = append(b, `,"runs":[`...)
	for i, r := range res.Runs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  "...)
		b = r.appendJSON(b)
	}
	b = append(b, "\n]}\n"...)
	return t.opts.Out.WriteFile(x, "summary.json", b, 0o644)
}

func (r *RunResult) appendJSON(b []byte) []byte {
	b = append(b, `{"seed":`...)
	b = strconv.AppendUint(b, r.Seed, 10)
	b = append(b, `,"generations":`...)
	b = strconv.AppendInt(b, int64(r.Generations), 10)
	b = append(b, `,"reached":`...)
	b = strconv.AppendBool(b, r.Reached)
	if r.Reached {
		b = append(b, `,"reached_gen":`...)
		b = strconv.AppendInt(b, int64(r.ReachedGen), 10)
		b = appendField(b, "reached_ms", ms(r.ReachedWall))
	}
	b = append(b, `,"final":`...)
	if r.Final.N > 0 {
		b = r.Final.appendJSON(b)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"solved":`...)
	b = strconv.AppendBool(b, r.Solved)
	b = append(b, `,"steps":`...)
	b = strconv.AppendInt(b, r.Steps, 10)
	b = appendField(b, "wall_ms", ms(r.Wall))
	if r.Err != nil {
		b = append(b, `,"error":`...)
		b = strconv.AppendQuote(b, r.Err.Error())
	}
	return append(b, '}')
}

// WriteTrajectory writes tr as .npy files in the folder p of dir (created
// if need be), each replaced atomically. With T steps, E slots, observation
// length O and action length A (1 for a discrete action: its index), all
// C order, step-major:
//
//	obs.npy         <f4 (T+1, E, O)  obs[0,e] is slot e's reset observation, obs[t+1,e] what step t returned
//	actions.npy     <f4 (T, E, A)    the action taken from obs[t,e]
//	rewards.npy     <f4 (T, E)       the reward of step t
//	terminated.npy  |b1 (T, E)       step t ended the episode (a terminal state)
//	truncated.npy   |b1 (T, E)       step t ended it by the time limit
//	valid.npy       |b1 (T, E)       step t was played (false after the episode's end: values 0)
//
// In numpy: obs = np.load("obs.npy"); L = valid.sum(0) gives each slot's
// episode length, rewards.sum(0) its return, and obs[L[e], e] its last
// observation (the terminal one when terminated[L[e]-1, e]).
func WriteTrajectory(x io.Io, dir io.Dir, p string, tr *Trajectory) error {
	return writeTrajectory(x, dir, p, tr, true)
}

// writeTrajectory is WriteTrajectory; durable false skips the fsyncs (each
// file still appears whole, by a rename: see writeVisible).
func writeTrajectory(x io.Io, dir io.Dir, p string, tr *Trajectory, durable bool) error {
	T, E, O, A := tr.T, tr.E, tr.ObsDim, tr.ActDim
	switch {
	case T < 0 || E < 0 || O < 1 || A < 1 || T > 1<<24 || E > 1<<24 || O > MaxHidden || A > MaxHidden:
		return errorf("trajectory", "shape T=%d E=%d obs=%d act=%d out of range", T, E, O, A)
	case len(tr.Obs) != (T+1)*E*O || len(tr.Actions) != T*E*A || len(tr.Rewards) != T*E ||
		len(tr.Terminated) != T*E || len(tr.Truncated) != T*E || len(tr.Valid) != T*E:
		return errorf("trajectory", "T=%d E=%d obs=%d act=%d: arrays of %d, %d, %d, %d, %d and %d values do not fit", T, E, O, A,
			len(tr.Obs), len(tr.Actions), len(tr.Rewards), len(tr.Terminated), len(tr.Truncated), len(tr.Valid))
	}
	if durable {
		if err := dir.MakePath(x, p, 0o755); err != nil {
			return err
		}
	} else if err := dir.MakeDir(x, p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		// Streamed: the parent exists (the run made it), one mkdir.
		return err
	}
	t, e, o, a := int64(T), int64(E), int64(O), int64(A)
	files := []struct {
		name  string
		shape []int64
		f32   []float32
		bools []bool
	}{
		{"obs.npy", []int64{t + 1, e, o}, tr.Obs, nil},
		{"actions.npy", []int64{t, e, a}, tr.Actions, nil},
		{"rewards.npy", []int64{t, e}, tr.Rewards, nil},
		{"terminated.npy", []int64{t, e}, nil, tr.Terminated},
		{"truncated.npy", []int64{t, e}, nil, tr.Truncated},
		{"valid.npy", []int64{t, e}, nil, tr.Valid},
	}
	write := writeVisible
	if durable {
		write = func(x io.Io, dir io.Dir, p string, data []byte) error { return dir.WriteFile(x, p, data, 0o644) }
	}
	for _, f := range files {
		data, err := npyFile(f.shape, f.f32, f.bools)
		if err != nil {
			return err
		}
		if err := write(x, dir, p+"/"+f.name, data); err != nil {
			return err
		}
	}
	return nil
}

// npyFile returns a .npy file of f32's float32 values (<f4) or, when f32
// is nil, of bools' (|b1): the header and the values in one allocation.
// The caller has checked that the values fill shape.
func npyFile(shape []int64, f32 []float32, bools []bool) ([]byte, error) {
	descr, size := "<f4", 4*len(f32)
	if f32 == nil {
		descr, size = "|b1", len(bools)
	}
	h, err := npy.Header(descr, shape)
	if err != nil {
		return nil, err
	}
	b := make([]byte, len(h), len(h)+size)
	copy(b, h)
	for _, v := range f32 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	for _, v := range bools {
		c := byte(0)
		if v {
			c = 1
		}
		b = append(b, c)
	}
	return b, nil
}

// writeVisible replaces the file at p in dir with data as a reader sees
// it, all at once: the data goes to p+".part", which is renamed over p.
// Unlike io.Dir.WriteFile it syncs nothing, so a power loss can lose the file;
// a killed process leaves at most the .part file. The trainer streams its
// trajectories this way: two fsyncs per file would make the disk, not
// the GPU, the limit of a many-seed run.
func writeVisible(x io.Io, dir io.Dir, p string, data []byte) error {
	tmp := p + ".part"
	f, err := dir.CreateFile(x, tmp, io.CreateOptions{Perm: 0o644})
	if err != nil {
		return err
	}
	_, err = f.Write(x, data)
	if cerr := f.Close(x); err == nil {
		err = cerr
	}
	if err == nil {
		err = dir.Rename(x, tmp, dir, p)
	}
	if err != nil {
		_ = dir.Remove(x.WithoutCancel(), tmp)
	}
	return err
}
