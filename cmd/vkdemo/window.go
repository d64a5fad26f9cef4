//go:build !nowindow

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
	"github.com/vkio/vkio/window"
)

// The window command is the only part of vkdemo that imports package window
// (GLFW, X11). Build with -tags nowindow for a vkdemo without it (and
// without the need for the X11 development headers): see window_nowindow.go.

func init() { register(newWindowCmd) }

type windowFlags struct {
	size     string
	frames   int
	iter     int
	out      string
	pauseAt  int
	vsync    bool
	controls bool
}

func newWindowCmd(a *app) *cobra.Command {
	var f windowFlags
	cmd := &cobra.Command{
		Use:   "window",
		Short: "Show the Julia-set zoom live in a window (GLFW + Vulkan swapchain)",
		Long: `window opens a window (GLFW, X11; no OpenGL context) and shows the Julia-set
zoom of the pipeline demo live: each frame is computed by the GPU kernel
shaders/julia.comp and presented through a Vulkan swapchain, without a round
trip through the host. The title shows frames per second and the GPU time of
the kernel (from GPU timestamps). Resizing the window recreates the
swapchain and renders at the new size.

Keys:
  space        pause / resume
  right, n     step one frame (pauses)
  s            save the frame shown as PNG in --out (atomically, written by
               a concurrent Io task: the animation does not stall)
  q, Esc       quit

It needs an X server ($DISPLAY); headless, run it under Xvfb:
  xvfb-run -a -s "-screen 0 800x600x24" vkdemo window --frames 100

With --control-stdin, each line of standard input is a key name (space,
right, n, s, q, escape) or "size WxH" (resize the window): scripts and tests
drive the window with it. Status lines (pauses, steps, saves, resizes) are
printed on standard output.`,
		Example: `  vkdemo window
  vkdemo window --size 800x600 --out shots
  vkdemo window --frames 300 --vsync`,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, h, err := parseFrameSize(f.size)
			if err != nil {
				return usageErrorf("window: --size %q: %v", f.size, err)
			}
			if f.frames < 0 {
				return usageErrorf("window: --frames %d: want 0 (no limit) or more", f.frames)
			}
			if f.iter < 1 || f.iter > 100000 {
				return usageErrorf("window: --iter %d: want 1 to 100000", f.iter)
			}
			return runWindow(a, f, w, h)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.size, "size", "640x480", "window size: WxH or N for NxN")
	fs.IntVar(&f.frames, "frames", 0, "quit after this many animation frames (0: run until closed)")
	fs.IntVar(&f.iter, "iter", 256, "maximum iterations per pixel")
	fs.StringVar(&f.out, "out", ".", "folder for frames saved with the s key")
	fs.IntVar(&f.pauseAt, "pause-at", -1, "pause once this frame is shown (-1: never)")
	fs.BoolVar(&f.vsync, "vsync", false, "present in FIFO mode (one frame per display refresh)")
	fs.BoolVar(&f.controls, "control-stdin", false, "read key names and \"size WxH\" lines from standard input")
	return cmd
}

// viewer is the window's animation state: which frame is shown, paused or
// not, and what the keys do. It is driven by key presses (apply) and by the
// frame loop (next), and touches neither GLFW nor the GPU, so that it can be
// tested on its own.
type viewer struct {
	frame   int  // the animation frame shown, -1 before the first
	paused  bool // no new frames until resumed or stepped
	step    bool // a step was asked for while paused
	quit    bool
	save    bool // save the frame shown
	pauseAt int  // pause once this frame is shown (-1: never)
	limit   int  // quit after this many frames (0: none)
}

// apply handles one key press.
func (v *viewer) apply(k window.Key) {
	switch k {
	case window.KeySpace:
		v.paused = !v.paused
	case window.KeyRight, window.Letter('n'):
		v.paused, v.step = true, true
	case window.Letter('s'):
		v.save = true
	case window.Letter('q'), window.KeyEscape:
		v.quit = true
	}
}

// next reports whether the loop should render a new animation frame now,
// and which.
// handle applies a batch of window events: keys to the view, a close
// request as quit, and a resize to the swapchain and then to onResize (nil:
// nothing more), in the order they came.
func (v *viewer) handle(events []window.Event, sc *gpu.Swapchain, onResize func(w, h int) error) error {
	for _, ev := range events {
		switch ev.Kind {
		case window.KeyPress:
			v.apply(ev.Key)
		case window.CloseRequest:
			v.quit = true
		case window.Resize:
			if ev.Width <= 0 || ev.Height <= 0 {
				continue
			}
			if err := sc.Recreate(ev.Width, ev.Height); err != nil {
				return err
			}
			if onResize != nil {
				if err := onResize(ev.Width, ev.Height); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (v *viewer) next() (frame int, ok bool) {
	if v.quit || (v.paused && !v.step && v.frame >= 0) {
		return v.frame, false
	}
	return v.frame + 1, true
}

// shown records that frame was presented; it returns a status line for the
// transitions worth reporting ("" otherwise).
func (v *viewer) shown(frame int) string {
	stepped := v.step
	v.frame, v.step = frame, false
	switch {
	case v.limit > 0 && frame+1 >= v.limit:
		v.quit = true
	case frame == v.pauseAt && !v.paused:
		v.paused = true
		return fmt.Sprintf("paused at frame %d", frame)
	case stepped:
		return fmt.Sprintf("frame %d", frame)
	}
	return ""
}

// winRenderer renders Julia frames into one host-visible buffer.
type winRenderer struct {
	dev     *gpu.Device
	k       *gpu.Kernel
	buf     *gpu.Buffer
	w, h    int
	maxIter uint32
}

func (r *winRenderer) resize(w, h int) error {
	if r.buf != nil && r.w == w && r.h == h {
		return nil
	}
	if r.buf != nil {
		if err := r.buf.Close(); err != nil {
			return err
		}
		r.buf = nil
	}
	b, err := r.dev.NewBuffer(4*w*h, gpu.HostVisible)
	if err != nil {
		return err
	}
	r.buf, r.w, r.h = b, w, h
	return nil
}

// render computes frame into the buffer and presents it; it returns the
// kernel's GPU time.
func (r *winRenderer) render(x io.Io, sc *gpu.Swapchain, frame int) (time.Duration, error) {
	p := demo.JuliaZoom(r.w, r.h, frame, r.maxIter)
	b := r.dev.NewBatch()
	defer b.Close()
	if err := b.Timestamp("start"); err != nil {
		return 0, err
	}
	if err := b.Dispatch(r.k, r.k.Groups(r.w, r.h), p.Push(), r.buf); err != nil {
		return 0, err
	}
	if err := b.Timestamp("end"); err != nil {
		return 0, err
	}
	// A frame takes milliseconds: its wait (inline in Submit under a
	// Blocking Io, in Await otherwise) is not a cancel point, so that Ctrl-C
	// never leaves the batch, buffer and kernel in use by GPU work when they
	// are closed (ErrBusy). Cancellation is checked before and right after.
	if err := x.CheckCancel(); err != nil {
		return 0, err
	}
	wx := x.WithoutCancel()
	fut := r.dev.Submit(wx, b)
	// The present's copy is ordered after the dispatch on the GPU: no need
	// to wait for the frame before queueing it.
	perr := sc.Present(r.buf, r.w, r.h, gpu.RGBA8)
	c, err := fut.Await(wx)
	if err != nil {
		return 0, err
	}
	if perr != nil {
		return 0, perr
	}
	if err := x.CheckCancel(); err != nil {
		return 0, err
	}
	gpuTime, _ := c.Span("start", "end")
	return gpuTime, nil
}

func (r *winRenderer) close() error {
	var errs []error
	if r.buf != nil {
		errs = append(errs, r.buf.Close())
	}
	if r.k != nil {
		errs = append(errs, r.k.Close())
	}
	return errors.Join(errs...)
}

// saveResult is a finished save.
type saveResult struct {
	frame int
	path  string
}

// openWindowDevice initializes GLFW and opens the device with the window
// system's instance extensions, for command cmd (named, with how to run
// it headless, when there is no display). The caller has locked its OS
// thread (GLFW wants every call from one) and, on success, defers
// window.Terminate and then closeDev, so that the device (and its surfaces)
// goes before the window system. closeDev is idempotent and leaves the
// device to app.close on paths that never reach it.
func openWindowDevice(a *app, cmd string) (dev *gpu.Device, closeDev func() error, err error) {
	if err := window.Init(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w (is $DISPLAY set? headless: xvfb-run -a vkdemo %s)", cmd, err, cmd)
	}
	defer func() {
		if err != nil {
			window.Terminate()
		}
	}()
	exts, err := window.InstanceExtensions()
	if err != nil {
		return nil, nil, err
	}
	opts := a.gpuOptions()
	opts.WindowExtensions = exts
	dev, err = gpu.Open(opts)
	if err != nil {
		if errors.Is(err, gpu.ErrNoDevice) && a.deviceSpecOrEnv() != "" {
			return nil, nil, usageErrorf("%s: %v; see 'vkdemo devices'", a.deviceSource(), err)
		}
		return nil, nil, err
	}
	a.dev = dev // app.close closes it on every path
	return dev, func() error {
		if a.dev == nil {
			return nil
		}
		a.dev = nil
		return dev.Close()
	}, nil
}

func runWindow(a *app, f windowFlags, width, height int) (err error) {
	x, err := a.Io()
	if err != nil {
		return err
	}
	// GLFW wants every call from one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dev, closeDev, err := openWindowDevice(a, "window")
	if err != nil {
		return err
	}
	defer window.Terminate()
	defer func() { err = errors.Join(err, closeDev()) }()

	out := io.Cwd()
	if f.out != "." && f.out != "" {
		if out, err = openOutDir(x, "--out", f.out); err != nil {
			return err
		}
		defer out.Close(x)
	}

	win, err := window.New(window.Options{Title: "vkdemo window", Width: width, Height: height})
	if err != nil {
		return err
	}
	defer win.Close()
	sc, err := win.NewSwapchain(dev, &gpu.SwapchainOptions{VSync: f.vsync})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sc.Close(), closeDev()) }()

	k, err := dev.NewKernel(shaders.Julia(), nil)
	if err != nil {
		return err
	}
	r := &winRenderer{dev: dev, k: k, maxIter: uint32(f.iter)}
	defer func() { err = errors.Join(err, r.close()) }()
	fw, fh := win.FramebufferSize()
	if err := r.resize(fw, fh); err != nil {
		return err
	}

	if f.controls {
		go readControls(win)
	}

	var (
		v       = viewer{frame: -1, pauseAt: f.pauseAt, limit: f.frames}
		saves   []*io.Future[saveResult]
		saveErr error
		status  = func(s string) { fmt.Fprintf(a.stdout, "window: %s\n", s) }
		// Title statistics since the last update.
		statFrames int
		statGPU    time.Duration
		statSince  = time.Now()
		rerender   bool
	)
	// Every save is awaited before the device goes.
	defer func() {
		for _, s := range saves {
			if _, serr := s.Await(x.WithoutCancel()); serr != nil && saveErr == nil {
				saveErr = serr
			}
		}
		err = errors.Join(err, saveErr)
	}()
	collect := func() {
		kept := saves[:0]
		for _, s := range saves {
			if !s.Done() {
				kept = append(kept, s)
				continue
			}
			res, serr := s.Await(x)
			if serr != nil {
				fmt.Fprintf(a.stderr, "vkdemo: window: saving a frame: %v\n", serr)
				if saveErr == nil {
					saveErr = serr
				}
				continue
			}
			status(fmt.Sprintf("saved frame %d to %s", res.frame, res.path))
		}
		saves = kept
	}

	for !v.quit && !win.ShouldClose() {
		if x.Canceled() {
			break // Ctrl-C: close the window normally
		}
		var events []window.Event
		if _, ok := v.next(); ok || rerender {
			events = win.Poll()
		} else {
			events = win.Wait(0.1)
		}
		err := v.handle(events, sc, func(w, h int) error {
			if err := r.resize(w, h); err != nil {
				return err
			}
			status(fmt.Sprintf("resized to %dx%d", w, h))
			rerender = v.frame >= 0
			return nil
		})
		if err != nil {
			return err
		}
		collect()
		if v.save && v.frame >= 0 {
			v.save = false
			saves = append(saves, startSave(x, out, r, v.frame))
		}
		if v.quit {
			break
		}
		frame, ok := v.next()
		if !ok && !rerender {
			continue
		}
		if !ok {
			frame = v.frame // the frame shown, at the new size
		}
		gpuTime, err := r.render(x, sc, frame)
		if err != nil {
			if x.Canceled() {
				break
			}
			return err
		}
		rerender = false
		if ok {
			if s := v.shown(frame); s != "" {
				status(s)
			}
		}
		statFrames++
		statGPU += gpuTime
		if el := time.Since(statSince); el >= 500*time.Millisecond {
			state := ""
			if v.paused {
				state = " — paused"
			}
			win.SetTitle(fmt.Sprintf("vkdemo window — frame %d — %.1f fps — GPU %.2f ms%s",
				v.frame, float64(statFrames)/el.Seconds(), float64(statGPU.Microseconds())/1000/float64(statFrames), state))
			statFrames, statGPU, statSince = 0, 0, time.Now()
		}
	}
	status(fmt.Sprintf("closed after frame %d", v.frame))
	return nil
}

// startSave encodes the frame shown as PNG and writes it atomically in a
// task of its own: concurrent with the frame loop where the Io allows
// (Threaded, Evented), inline otherwise (Blocking).
func startSave(x io.Io, dir io.Dir, r *winRenderer, frame int) *io.Future[saveResult] {
	pix, err := r.buf.Bytes()
	raw := append([]byte(nil), pix...) // the buffer is rewritten by the next frame
	w, h := r.w, r.h
	name := fmt.Sprintf("frame-%06d.png", frame)
	save := func(x io.Io) (saveResult, error) {
		if err != nil {
			return saveResult{}, err
		}
		e := &demo.PNGEncoder{Width: w, Height: h}
		data, err := e.Encode(x, frame, raw, nil)
		if err != nil {
			return saveResult{}, err
		}
		if err := dir.WriteFile(x, name, data, 0o644); err != nil {
			return saveResult{}, err
		}
		return saveResult{frame: frame, path: path.Join(dir.Name(), name)}, nil
	}
	fut, cerr := io.Concurrent(x, save)
	if errors.Is(cerr, io.ErrConcurrencyUnavailable) {
		return io.Async(x, save)
	}
	if cerr != nil {
		return io.Async(x, func(io.Io) (saveResult, error) { return saveResult{}, cerr })
	}
	return fut
}

// readControls turns lines of standard input into key presses and resize
// requests (--control-stdin).
func readControls(win *window.Window) {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if s, ok := strings.CutPrefix(line, "size "); ok {
			if w, h, err := parseFrameSize(s); err == nil {
				win.RequestSize(w, h)
			}
			continue
		}
		if k, ok := keyNames[line]; ok {
			win.PostKey(k)
		}
	}
}

var keyNames = map[string]window.Key{
	"space": window.KeySpace, "right": window.KeyRight, "n": window.Letter('n'),
	"s": window.Letter('s'), "q": window.Letter('q'), "escape": window.KeyEscape, "esc": window.KeyEscape,
}
