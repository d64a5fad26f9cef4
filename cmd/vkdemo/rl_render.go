package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
	"github.com/vkio/vkio/tasks"
)

// rlRenderConfig is the parsed command line of `vkdemo rl render`.
type rlRenderConfig struct {
	env          string // Gymnasium id
	envs         int
	cols         int
	cellW, cellH int // 0: the environment's default
	frames       int // 0 with --window: until closed
	out          string
	window       bool
	vsync        bool
	checkpoint   string
	seed         uint64
	autoreset    rl.AutoresetMode
	saves        int // PNG saves in flight
	controls     bool
	sim          string // where the environments step: gpu or cpu
}

// Caps of rl render.
const (
	maxRLRenderFrames = 1_000_000
	rlRenderPattern   = "frame-%05d.png"
)

func newRLRenderCmd(a *app) *cobra.Command {
	var (
		c                      rlRenderConfig
		envName, cell, autores string
	)
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Draw a grid of environments with a compute shader: PNG frames and/or a live window",
		Long: `render steps --envs environments (on the GPU, rl.GPUVecEnv; with --sim cpu
on the Go reference), one step per frame, resetting each as its episode ends
(--autoreset), and draws them all into one frame per
step with a compute shader (shaders/rl_render.comp, one invocation per
pixel: CartPole's track, cart and pole, Acrobot's links, Pendulum's rod,
MountainCar's curve, car and flag, in Gymnasium's look), in a grid of
--cols columns of --cell pixels each.

The frames are saved as PNGs in --out (frame-00000.png, ...), each encoded
and written atomically by a task of the Io while the next frames are drawn;
and/or, with --window, presented live in a window through a Vulkan
swapchain, as 'vkdemo window' does (keys: space pause, right or n step, q or
Esc quit; needs $DISPLAY: xvfb-run -a vkdemo rl render --window).

Actions are random (Philox, the rl package's RNG layout, from --seed), or
with --checkpoint those of a trained policy (the center θ of an 'rl train'
checkpoint, for its environment).

Ctrl-C stops after the frame being drawn: every PNG reported is complete,
no temporary file is left, and the exit status is 130.`,
		Example: `  vkdemo rl render --env cartpole --envs 16 --frames 200 --out frames
  vkdemo rl render --checkpoint runs/cartpole/seed-0/checkpoint.ckpt --envs 9 --out solved
  xvfb-run -a vkdemo rl render --env acrobot --window --frames 500`,
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			var err error
			if c.env, err = parseRLEnv("--env", envName); err != nil {
				return err
			}
			if err := checkCount("envs", c.envs, 1, rl.MaxRenderEnvs); err != nil {
				return err
			}
			if c.cols < 0 || c.cols > c.envs {
				return usageErrorf("--cols %d: want 1 to %d (--envs), or 0 for a square grid", c.cols, c.envs)
			}
			if cell != "" {
				w, h, err := parseFrameSize(cell)
				if err != nil || w < rl.MinCellSide || h < rl.MinCellSide || w > rl.MaxCellSide || h > rl.MaxCellSide {
					return usageErrorf("--cell %q: want WxH or N, each side %d to %d pixels", cell, rl.MinCellSide, rl.MaxCellSide)
				}
				c.cellW, c.cellH = w, h
			}
			if err := c.renderOptions().Check(); err != nil {
				return usageErrorf("--envs %d, --cols %d, --cell %q: %v", c.envs, c.cols, cell, err)
			}
			lo := 1
			if c.window {
				lo = 0
			}
			if c.frames < lo || c.frames > maxRLRenderFrames {
				return usageErrorf("--frames %d: want %d to %d", c.frames, lo, maxRLRenderFrames)
			}
			if err := checkCount("saves", c.saves, 1, maxDemoStages); err != nil {
				return err
			}
			if c.autoreset, err = parseAutoreset(autores); err != nil {
				return err
			}
			if !c.window && !fs.Changed("out") {
				c.out = filepath.Join(defaultOut, "rl-render")
			}
			if fs.Changed("out") && c.out == "" {
				return usageErrorf("--out: want a folder")
			}
			if c.controls && !c.window {
				return usageErrorf("--control-stdin needs --window")
			}
			switch c.sim = strings.ToLower(c.sim); c.sim {
			case "gpu", "cpu":
			default:
				return usageErrorf("--sim %q: want gpu or cpu", c.sim)
			}
			if a.onCPU() {
				return usageErrorf("render draws on the GPU: --device cpu is not for it (--sim cpu steps the environments on the Go reference)")
			}
			return a.rlRender(c)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&envName, "env", "CartPole-v1", "environment: "+rlEnvList()+" (or cartpole, acrobot, pendulum, mountaincar)")
	fs.IntVarP(&c.envs, "envs", "N", 16, "environments drawn, one grid cell each")
	fs.IntVar(&c.cols, "cols", 0, "grid columns (0: a square grid)")
	fs.StringVar(&cell, "cell", "", "cell size in pixels: WxH or N (default 150x100 for CartPole and MountainCar, 100x100 for Acrobot and Pendulum)")
	fs.IntVarP(&c.frames, "frames", "n", 200, "frames to draw, one environment step each (with --window, 0 runs until the window is closed)")
	fs.StringVarP(&c.out, "out", "o", "", "folder for the PNG frames (default "+defaultOut+"/rl-render without --window; with --window, none unless given)")
	fs.BoolVar(&c.window, "window", false, "present the frames live in a window (X11; xvfb-run headless)")
	fs.BoolVar(&c.vsync, "vsync", false, "with --window: one frame per display refresh")
	fs.BoolVar(&c.controls, "control-stdin", false, "with --window: read key names (space, right, n, q, escape) from standard input")
	fs.StringVar(&c.checkpoint, "checkpoint", "", "drive the environments with this checkpoint's policy (default: random actions)")
	fs.Uint64Var(&c.seed, "seed", 0, "RNG seed of the resets and random actions")
	fs.StringVar(&autores, "autoreset", "next-step", "how an environment whose episode ended resets: next-step or same-step (Gymnasium 1.x)")
	fs.IntVar(&c.saves, "saves", defaultSaves, "PNG encodes and saves in flight")
	fs.StringVar(&c.sim, "sim", "gpu", "where the environments step: gpu (rl.GPUVecEnv, float32 shaders) or cpu (rl.VecEnv, the float64 Go reference)")
	return cmd
}

// rlRender runs `rl render`.
func (a *app) rlRender(c rlRenderConfig) (err error) {
	x, err := a.Io()
	if err != nil {
		return err
	}
	var pol *rlPolicy
	if c.checkpoint != "" {
		if pol, err = loadRLPolicy(x, c.checkpoint); err != nil {
			return err
		}
		if pol.env != c.env {
			return usageErrorf("--checkpoint %s: a policy for %s, not --env %s", c.checkpoint, pol.env, c.env)
		}
	}
	var dir *io.Dir
	if c.out != "" {
		d, err := openOutDir(x, "--out", c.out)
		if err != nil {
			return err
		}
		defer d.Close(x.WithoutCancel())
		if n, err := d.RemoveStaleTemps(x, 0); n > 0 || err != nil {
			a.stderrf("vkdemo rl render: removed %d stale temporary file(s) of killed runs in %s%s\n", n, c.out, errSuffix(err))
		}
		dir = &d
	}
	if c.window {
		return rlRenderWindow(a, x, c, pol, dir)
	}
	d, err := a.Device()
	if err != nil {
		return err
	}
	sim, err := newRenderSim(x, d, c, pol)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sim.close()) }()
	r, err := rl.NewRenderer(d, c.renderOptions())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, r.Close()) }()
	w, h := r.Size()
	cols, rows := r.Grid()
	fmt.Fprintf(a.stdout, "vkdemo rl render: %d %s (%dx%d grid) in %dx%d frames on %s, io %s, %s\n",
		c.envs, c.env, cols, rows, w, h, d.Info().Name, x, sim.describe())
	saver := newFrameSaver(x, dir, c.out, w, h, c.saves, c.frames)
	prog := newProgress(a.stdout, c.frames, dir != nil, c.out, rlRenderPattern)
	saver.onSaved = prog.frame
	start := time.Now()
	drawn := 0
	var loopErr error
	for f := 0; f < c.frames; f++ {
		if loopErr = x.CheckCancel(); loopErr != nil {
			break
		}
		states, err := sim.states(x)
		if err != nil {
			loopErr = err
			break
		}
		pix, err := r.Render(x, states, saver.buffer())
		if err == nil {
			err = a.gate.take()
		}
		if err != nil {
			loopErr = err
			break
		}
		drawn++
		if loopErr = saver.save(f, pix); loopErr != nil {
			break
		}
		if f+1 < c.frames {
			if loopErr = x.CheckCancel(); loopErr != nil {
				break
			}
			if loopErr = sim.step(x); loopErr != nil {
				break
			}
		}
	}
	saveErr := saver.wait()
	prog.finish()
	err = errors.Join(loopErr, saveErr)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(a.stdout, "stopped: %d of %d frames saved in %s, each complete\n", saver.saved, c.frames, c.out)
		}
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(a.stdout, "done: %d frames in %s (%.1f frames/s), %d episodes ended\n", drawn, fmtSec(el), float64(drawn)/el.Seconds(), sim.episodesEnded())
	fmt.Fprintf(a.stdout, "images    %s (%d PNGs)\n", filepath.Join(c.out, "frame-*.png"), saver.saved)
	return nil
}

func (c rlRenderConfig) renderOptions() rl.RenderOptions {
	return rl.RenderOptions{Env: c.env, Envs: c.envs, Cols: c.cols, CellWidth: c.cellW, CellHeight: c.cellH}
}

// frameSaver encodes frames as PNG and saves them atomically in a folder,
// each in a task of the Io (concurrent where the Io allows), at most
// limit at once: save waits for the oldest when that many are in flight.
type frameSaver struct {
	x       io.Io
	dir     *io.Dir // nil: frames are not saved
	out     string
	w, h    int
	limit   int
	enc     *demo.FastPNGEncoder
	pending []*io.Future[int]
	bufs    [][]byte // the pixels each pending save holds
	free    [][]byte // pixel buffers of finished saves, for reuse
	saved   int
	err     error
	// onSaved, if set, sees every finished save (one at a time), as the
	// pipeline's progress does.
	onSaved func(tasks.FrameEvent)
	total   int
	start   time.Time
}

func newFrameSaver(x io.Io, dir *io.Dir, out string, w, h, limit, total int) *frameSaver {
	return &frameSaver{x: x, dir: dir, out: out, w: w, h: h, limit: limit, total: total,
		enc: &demo.FastPNGEncoder{Width: w, Height: h}, start: time.Now()}
}

// buffer returns a pixel buffer for the next frame (one a finished save
// gave back, or nil).
func (s *frameSaver) buffer() []byte {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b
	}
	return nil
}

// save starts saving frame k's pixels (which it keeps until the save ends).
func (s *frameSaver) save(k int, pix []byte) error {
	if s.dir == nil {
		s.free = append(s.free, pix)
		return nil
	}
	for len(s.pending) >= s.limit {
		if err := s.collect(true); err != nil {
			return err
		}
	}
	dir, enc, name := *s.dir, s.enc, fmt.Sprintf(rlRenderPattern, k)
	fn := func(x io.Io) (int, error) {
		data, err := enc.Encode(x, k, pix, nil)
		if err != nil {
			return k, err
		}
		if err := dir.WriteFile(x, name, data, 0o644); err != nil {
			return k, fmt.Errorf("saving %s: %w", filepath.Join(s.out, name), err)
		}
		return k, nil
	}
	// A save, once started, is never canceled: Ctrl-C leaves it complete.
	wx := s.x.WithoutCancel()
	fut, err := io.Concurrent(wx, fn)
	if err != nil {
		fut = io.Async(wx, fn)
	}
	s.pending = append(s.pending, fut)
	s.bufs = append(s.bufs, pix)
	return s.collect(false)
}

// collect awaits the oldest save (block) or those already done.
func (s *frameSaver) collect(block bool) error {
	for len(s.pending) > 0 && (block || s.pending[0].Done()) {
		k, err := s.pending[0].Await(s.x.WithoutCancel())
		s.pending = s.pending[1:]
		s.free = append(s.free, s.bufs[0])
		s.bufs = s.bufs[1:]
		block = false
		if err != nil {
			if s.err == nil {
				s.err = err
			}
			continue
		}
		s.saved++
		if s.onSaved != nil {
			s.onSaved(tasks.FrameEvent{Frame: k, Done: s.saved, Total: s.total, Elapsed: time.Since(s.start)})
		}
	}
	return s.err
}

// wait awaits every save started and returns the first failure.
func (s *frameSaver) wait() error {
	for len(s.pending) > 0 {
		s.collect(true)
	}
	return s.err
}
