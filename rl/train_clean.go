package rl

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"syscall"

	"github.com/vkio/vkio/io"
)

// runFiles are the files Train writes in a run's folder seed-N, and
// trajFiles those of each of its trajectory folders (WriteTrajectory).
var (
	runFiles  = []string{"checkpoint.ckpt", "stats.jsonl", "timing.jsonl", "episodes.jsonl", "final.json"}
	trajFiles = []string{"obs.npy", "actions.npy", "rewards.npy", "terminated.npy", "truncated.npy", "valid.npy"}
)

// removeOldRuns removes, before a fresh (not resumed) job starts, what an
// earlier job left in the folders this job's runs will own, seed-N for
// each of cfg's seeds: the files Train writes there (checkpoint, JSON
// Lines, final.json), the trajectory folders' .npy files and their .part
// files, and then every folder left empty. Were they left, a job
// interrupted before a run opened its files would leave that run an older
// job's checkpoint (which a resume refuses) and outputs (which curve.svg
// would draw). Nothing else is removed: a file of the user's keeps its
// folder, and the folders of other seeds are left alone (jobs of different
// seeds may share an output folder). x should not be cancelable: an
// interrupted clean-up would leave a mix.
func removeOldRuns(x io.Io, out io.Dir, cfg *TrainConfig) error {
	for k := range cfg.Seeds {
		name := "seed-" + strconv.FormatUint(cfg.Seed+uint64(k), 10)
		fi, err := out.Lstat(x, name)
		if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.IsDir() {
			continue // none, or not a folder (a link is never followed)
		}
		if err != nil {
			return err
		}
		dir, err := out.OpenDir(x, name)
		if err != nil {
			return err
		}
		err = removeRunFiles(x, dir, true)
		dir.Close(x)
		if err != nil {
			return err
		}
		if err := removeIfEmpty(x, out, name); err != nil {
			return err
		}
	}
	return nil
}

// removeRunFiles removes the files of a run's folder dir: with all, those
// Train writes and the trajectories (removeOldRuns); otherwise only the
// trajectories' .part files, which a killed process leaves (writeVisible).
func removeRunFiles(x io.Io, dir io.Dir, all bool) error {
	if all {
		for _, f := range runFiles {
			if err := removeFile(x, dir, f); err != nil {
				return err
			}
		}
	}
	fi, err := dir.Lstat(x, "traj")
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.IsDir() {
		return nil
	}
	if err != nil {
		return err
	}
	// The trajectory folders' names first: removing while reading the
	// folder may skip entries.
	var sub []string
	for e, err := range dir.Entries(x, "traj") {
		if err != nil {
			return err
		}
		if n := e.Name(); e.IsDir() && (n == "final" || isGenFolder(n)) {
			sub = append(sub, n)
		}
	}
	for _, n := range sub {
		p := "traj/" + n
		for _, f := range trajFiles {
			if all {
				if err := removeFile(x, dir, p+"/"+f); err != nil {
					return err
				}
			}
			if err := removeFile(x, dir, p+"/"+f+".part"); err != nil {
				return err
			}
		}
		if all {
			if err := removeIfEmpty(x, dir, p); err != nil {
				return err
			}
		}
	}
	if all {
		return removeIfEmpty(x, dir, "traj")
	}
	return nil
}

// isGenFolder reports whether n is a trajectory folder's name gen-GGGGGG.
func isGenFolder(n string) bool {
	g, ok := strings.CutPrefix(n, "gen-")
	if !ok || len(g) < 6 {
		return false
	}
	for _, c := range g {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeFile removes the file p of dir, if there is one.
func removeFile(x io.Io, dir io.Dir, p string) error {
	if err := dir.Remove(x, p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// removeIfEmpty removes the folder p of dir if it is empty.
func removeIfEmpty(x io.Io, dir io.Dir, p string) error {
	err := dir.RemoveDir(x, p)
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
		return nil
	}
	return err
}
