//go:build !nowindow

package main

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
	"github.com/vkio/vkio/window"
)

// rlRenderWindow is `rl render --window`: the frames drawn by rl.Renderer
// presented live through a swapchain (the window machinery of `vkdemo
// window`, the only other importer of package window), and saved as PNGs
// too when dir is set.
func rlRenderWindow(a *app, x io.Io, c rlRenderConfig, pol *rlPolicy, dir *io.Dir) (err error) {
	// GLFW wants every call from one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dev, closeDev, err := openWindowDevice(a, "rl render --window")
	if err != nil {
		return err
	}
	defer window.Terminate()
	defer func() { err = errors.Join(err, closeDev()) }()

	sim, err := newRenderSim(x, dev, c, pol)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sim.close()) }()
	r, err := rl.NewRenderer(dev, c.renderOptions())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, r.Close()) }()
	w, h := r.Size()
	win, err := window.New(window.Options{Title: "vkdemo rl render — " + c.env, Width: w, Height: h})
	if err != nil {
		return err
	}
	defer win.Close()
	sc, err := win.NewSwapchain(dev, &gpu.SwapchainOptions{VSync: c.vsync})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sc.Close(), closeDev()) }()
	if c.controls {
		go readControls(win)
	}
	cols, rows := r.Grid()
	fmt.Fprintf(a.stdout, "vkdemo rl render: %d %s (%dx%d grid) in %dx%d frames on %s, io %s, %s, in a window\n",
		c.envs, c.env, cols, rows, w, h, dev.Info().Name, x, sim.describe())

	saver := newFrameSaver(x, dir, c.out, w, h, c.saves, c.frames)
	defer func() { err = errors.Join(err, saver.wait()) }()
	var (
		v          = viewer{frame: -1, pauseAt: -1, limit: c.frames}
		status     = func(s string) { fmt.Fprintf(a.stdout, "rl render: %s\n", s) }
		statFrames int
		statSince  = time.Now()
	)
	for !v.quit && !win.ShouldClose() {
		if x.Canceled() {
			break // Ctrl-C: close the window normally
		}
		var events []window.Event
		if _, ok := v.next(); ok {
			events = win.Poll()
		} else {
			events = win.Wait(0.1)
		}
		if err := v.handle(events, sc, nil); err != nil {
			return err
		}
		v.save = false // s saves nothing more: every frame goes to --out when set
		if err := saver.collect(false); err != nil {
			return err
		}
		frame, ok := v.next()
		if !ok {
			continue
		}
		if frame > 0 {
			if err := sim.step(x); err != nil {
				return err
			}
		}
		if err := rlPresent(x, dev, r, sc, sim); err != nil {
			if x.Canceled() {
				break
			}
			return err
		}
		if err := a.gate.take(); err != nil {
			return err
		}
		if dir != nil {
			pix := saver.buffer()
			if cap(pix) < r.FrameBytes() {
				pix = make([]byte, r.FrameBytes())
			}
			pix = pix[:r.FrameBytes()]
			if err := gpu.Download(x.WithoutCancel(), r.Frame(), 0, pix); err != nil {
				return err
			}
			if err := saver.save(frame, pix); err != nil {
				return err
			}
		}
		if s := v.shown(frame); s != "" {
			status(s)
		}
		statFrames++
		if el := time.Since(statSince); el >= 500*time.Millisecond {
			win.SetTitle(fmt.Sprintf("vkdemo rl render — %s — frame %d — %.1f fps — %d episodes ended", c.env, v.frame, float64(statFrames)/el.Seconds(), sim.episodesEnded()))
			statFrames, statSince = 0, time.Now()
		}
	}
	status(fmt.Sprintf("closed after frame %d", v.frame))
	if c.frames == 0 {
		return nil // run until closed: Ctrl-C is one way to close it
	}
	return x.CheckCancel()
}

// rlPresent draws the simulation's states and presents the frame. The
// frame's wait is not a cancel point (a canceled wait would leave the batch
// in use when it is closed); cancellation is checked before.
func rlPresent(x io.Io, dev *gpu.Device, r *rl.Renderer, sc *gpu.Swapchain, sim renderSim) error {
	if err := x.CheckCancel(); err != nil {
		return err
	}
	wx := x.WithoutCancel()
	states, err := sim.states(wx)
	if err != nil {
		return err
	}
	if err := r.SetStates(wx, states); err != nil {
		return err
	}
	b := dev.NewBatch()
	defer b.Close()
	if err := r.Record(b); err != nil {
		return err
	}
	fut := dev.Submit(wx, b)
	w, h := r.Size()
	// The present's copy is ordered after the dispatch on the GPU.
	perr := sc.Present(r.Frame(), w, h, gpu.RGBA8)
	if _, err := fut.Await(wx); err != nil {
		return err
	}
	return perr
}
