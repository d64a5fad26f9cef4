package rl

import (
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
