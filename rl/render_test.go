package rl_test

import (
	"errors"
	"math"
	"testing"

	"go.uber.org/goleak"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
)

// Colours of the render shader (Gymnasium's).
var (
	white     = [4]byte{255, 255, 255, 255}
	black     = [4]byte{0, 0, 0, 255}
	cellFrame = [4]byte{160, 160, 160, 255}
	empty     = [4]byte{224, 224, 224, 255}
	poleCol   = [4]byte{202, 152, 101, 255}
	axleCol   = [4]byte{129, 132, 203, 255}
	linkCol   = [4]byte{0, 204, 204, 255}
	jointCol  = [4]byte{204, 204, 0, 255}
	rodCol    = [4]byte{204, 77, 77, 255}
	wheelCol  = [4]byte{128, 128, 128, 255}
	flagCol   = [4]byte{204, 204, 0, 255}
)

// view is the world-to-pixel mapping of one environment's cells, as the
// shader computes it.
type view struct {
	extW, extH, midX, midY float64
}

var views = map[string]view{
	"CartPole-v1":              {4.8, 3.2, 0, 0.8},
	"Acrobot-v1":               {4.4, 4.4, 0, 0},
	"Pendulum-v1":              {4.4, 4.4, 0, 0},
	"MountainCarContinuous-v0": {1.8, 1.2, -0.3, 0.6},
}

func (v view) scale(cw, ch int) float64 { return math.Min(float64(cw)/v.extW, float64(ch)/v.extH) }

// pixel returns the frame pixel of world point (wx, wy) in cell (col, row).
func (v view) pixel(cw, ch, col, row int, wx, wy float64) (int, int) {
	s := v.scale(cw, ch)
	u := (wx-v.midX)*s + 0.5*float64(cw) - 0.5
	w := 0.5*float64(ch) - 0.5 - (wy-v.midY)*s
	return col*cw + int(math.Round(u)), row*ch + int(math.Round(w))
}

// world returns the world point at the centre of local pixel (u, w).
func (v view) world(cw, ch, u, w int) (float64, float64) {
	s := v.scale(cw, ch)
	return v.midX + (float64(u)+0.5-0.5*float64(cw))/s, v.midY + (0.5*float64(ch)-float64(w)-0.5)/s
}

func inBox(px, py, ox, oy, dx, dy, a0, a1, c0, c1 float64) bool {
	qx, qy := px-ox, py-oy
	al := qx*dx + qy*dy
	ac := -qx*dy + qy*dx
	return al >= a0 && al <= a1 && ac >= c0 && ac <= c1
}

func inCircle(px, py, cx, cy, r float64) bool {
	return (px-cx)*(px-cx)+(py-cy)*(py-cy) <= r*r
}

func mcHeight(x float64) float64 { return math.Sin(3*x)*0.45 + 0.55 }

// refColour is the Go reference of the shader's colour of world point
// (px, py) for state s, in float64 (the test allows the few edge pixels
// where float32 and float64 disagree).
func refColour(env string, px, py, hp float64, s []float32) [4]byte {
	switch env {
	case "CartPole-v1":
		x, th := float64(s[0]), float64(s[2])
		if math.Abs(py) <= hp {
			return black
		}
		if inCircle(px, py, x, 0.06, 0.04) {
			return axleCol
		}
		if inBox(px, py, x, 0.06, math.Sin(th), math.Cos(th), -0.04, 0.96, -0.04, 0.04) {
			return poleCol
		}
		if math.Abs(px-x) <= 0.2 && math.Abs(py) <= 0.12 {
			return black
		}
	case "Acrobot-v1":
		t1, t2 := float64(s[0]), float64(s[1])
		d1x, d1y := math.Sin(t1), -math.Cos(t1)
		d2x, d2y := math.Sin(t1+t2), -math.Cos(t1+t2)
		switch {
		case inCircle(px, py, d1x, d1y, 0.1):
			return jointCol
		case inBox(px, py, d1x, d1y, d2x, d2y, 0, 1, -0.1, 0.1):
			return linkCol
		case inCircle(px, py, 0, 0, 0.1):
			return jointCol
		case inBox(px, py, 0, 0, d1x, d1y, 0, 1, -0.1, 0.1):
			return linkCol
		case math.Abs(py-1) <= hp && math.Abs(px) <= 2.2:
			return black
		}
	case "Pendulum-v1":
		th := float64(s[0])
		dx, dy := -math.Sin(th), math.Cos(th)
		switch {
		case inCircle(px, py, 0, 0, 0.05):
			return black
		case inCircle(px, py, dx, dy, 0.1), inBox(px, py, 0, 0, dx, dy, 0, 1, -0.1, 0.1), inCircle(px, py, 0, 0, 0.1):
			return rodCol
		}
	case "MountainCarContinuous-v0":
		pos := float64(s[0])
		fy := mcHeight(0.45)
		fx := px - 0.45
		if fx >= 0 && fx <= 0.075 && math.Abs(py-(fy+0.135)) <= 0.015*(1-fx/0.075) {
			return flagCol
		}
		if math.Abs(px-0.45) <= hp && py >= fy && py <= fy+0.15 {
			return black
		}
		a := math.Cos(3 * pos)
		dx, dy := math.Cos(a), math.Sin(a)
		ox, oy := pos, mcHeight(pos)+0.03
		if inCircle(px, py, ox+0.03*dx, oy+0.03*dy, 0.024) || inCircle(px, py, ox-0.03*dx, oy-0.03*dy, 0.024) {
			return wheelCol
		}
		if inBox(px, py, ox, oy, dx, dy, -0.06, 0.06, 0, 0.06) {
			return black
		}
		if px >= -1.2 && px <= 0.6 {
			sl := 1.35 * math.Cos(3*px)
			if math.Abs(py-mcHeight(px)) <= 1.5*hp*math.Sqrt(1+sl*sl) {
				return black
			}
		}
	}
	return white
}

// refFrame draws the whole frame in Go.
func refFrame(env string, n, cols, cw, ch int, states []float32, dim int) []byte {
	rows := (n + cols - 1) / cols
	w, h := cols*cw, rows*ch
	v := views[env]
	hp := 0.75 / v.scale(cw, ch)
	out := make([]byte, 4*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			col, row := x/cw, y/ch
			u, lw := x-col*cw, y-row*ch
			e := row*cols + col
			var c [4]byte
			switch {
			case u == 0 || lw == 0:
				c = cellFrame
			case e >= n:
				c = empty
			default:
				px, py := v.world(cw, ch, u, lw)
				c = refColour(env, px, py, hp, states[e*dim:(e+1)*dim])
			}
			copy(out[4*(y*w+x):], c[:])
		}
	}
	return out
}

func at(frame []byte, w, x, y int) [4]byte {
	var c [4]byte
	copy(c[:], frame[4*(y*w+x):])
	return c
}

// probe is a world point of a cell and the colour expected there.
type probe struct {
	what   string
	cell   int
	wx, wy float64
	want   [4]byte
}

// TestRLRender draws known states of every environment and checks the
// frame: probes well inside each body (the pole along its angle, the
// links, the rod, the car) and in the background, empty cells past the
// last environment, and every pixel against the Go reference (all but a
// few edge pixels equal), the same on every Io.
func TestRLRender(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	d := gputest.Open(t, gpu.Options{})
	cases := []struct {
		env    string
		n      int
		states []float32
		probes []probe
	}{
		{"CartPole-v1", 3, []float32{0, 0, 0.3, 0, 1.2, 0, -0.2, 0, -1.5, 0, 0, 0}, []probe{
			{"pole of env 0 leaning right", 0, 0.55 * math.Sin(0.3), 0.06 + 0.55*math.Cos(0.3), poleCol},
			{"no pole leaning left", 0, -0.55 * math.Sin(0.3), 0.06 + 0.55*math.Cos(0.3), white},
			{"pole of env 1 leaning left", 1, 1.2 + 0.7*math.Sin(-0.2), 0.06 + 0.7*math.Cos(-0.2), poleCol},
			{"cart of env 1", 1, 1.2 + 0.15, -0.07, black},
			{"axle of env 2", 2, -1.5, 0.06, axleCol},
			{"upright pole of env 2", 2, -1.5, 0.8, poleCol},
			{"background", 2, 1.0, 1.5, white},
			{"track", 0, 2.0, 0, black},
		}},
		{"Acrobot-v1", 2, []float32{0.5, -0.7, 0, 0, 0, 0, 0, 0}, []probe{
			{"link 1", 0, 0.5 * math.Sin(0.5), -0.5 * math.Cos(0.5), linkCol},
			{"link 2", 0, math.Sin(0.5) + 0.6*math.Sin(-0.2), -math.Cos(0.5) - 0.6*math.Cos(-0.2), linkCol},
			{"joint", 0, math.Sin(0.5), -math.Cos(0.5), jointCol},
			{"hanging down", 1, 0, -1.5, linkCol},
			{"nothing up", 1, 0, 1.5, white},
			{"goal line", 1, 1.5, 1, black},
		}},
		{"Pendulum-v1", 2, []float32{1.0, 0, math.Pi, 0}, []probe{
			{"rod at 1 rad", 0, -0.6 * math.Sin(1), 0.6 * math.Cos(1), rodCol},
			{"no rod mirrored", 0, 0.6 * math.Sin(1), 0.6 * math.Cos(1), white},
			{"rod hanging", 1, 0, -0.6, rodCol},
			{"axle", 1, 0, 0, black},
		}},
		{"MountainCarContinuous-v0", 2, []float32{-0.5, 0, 0.3, 0}, []probe{
			{"car body", 0, -0.5 - 0.045*math.Sin(math.Cos(-1.5)), mcHeight(-0.5) + 0.03 + 0.045*math.Cos(math.Cos(-1.5)), black},
			{"above the car", 0, -0.5, mcHeight(-0.5) + 0.25, white},
			{"car of env 1", 1, 0.3 - 0.045*math.Sin(math.Cos(0.9)), mcHeight(0.3) + 0.03 + 0.045*math.Cos(math.Cos(0.9)), black},
			{"track", 1, -1.0, mcHeight(-1.0), black},
			{"flag", 1, 0.47, mcHeight(0.45) + 0.135, flagCol},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.env, func(t *testing.T) {
			const cols = 2
			r, err := rl.NewRenderer(d, rl.RenderOptions{Env: tc.env, Envs: tc.n, Cols: cols})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := r.Close(); err != nil {
					t.Error(err)
				}
			}()
			w, h := r.Size()
			cw, ch := w/cols, h/((tc.n+cols-1)/cols)
			if gc, gr := r.Grid(); gc != cols || gr != (tc.n+1)/2 || r.FrameBytes() != 4*w*h {
				t.Fatalf("grid %dx%d, %d bytes for %dx%d", gc, gr, r.FrameBytes(), w, h)
			}
			var first []byte
			for _, kind := range io.Kinds() {
				b, err := io.New(string(kind))
				if err != nil {
					t.Fatal(err)
				}
				frame, err := r.Render(b.Io(), tc.states, nil)
				b.Close()
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				if first == nil {
					first = frame
				} else if string(frame) != string(first) {
					t.Errorf("%s: the frame differs from %s's", kind, io.Kinds()[0])
				}
			}
			frame := first
			v := views[tc.env]
			for _, p := range tc.probes {
				x, y := v.pixel(cw, ch, p.cell%cols, p.cell/cols, p.wx, p.wy)
				if got := at(frame, w, x, y); got != p.want {
					t.Errorf("%s: pixel (%d, %d) is %v, want %v", p.what, x, y, got, p.want)
				}
			}
			if tc.n%cols != 0 {
				if got := at(frame, w, w-cw/2, h-ch/2); got != empty {
					t.Errorf("empty cell: %v, want %v", got, empty)
				}
			}
			if got := at(frame, w, cw, ch/2); got != cellFrame {
				t.Errorf("cell frame: %v, want %v", got, cellFrame)
			}
			ref := refFrame(tc.env, tc.n, cols, cw, ch, tc.states, r.StateDim())
			diff, drawn := 0, 0
			for i := 0; i < len(ref); i += 4 {
				if frame[i] != ref[i] || frame[i+1] != ref[i+1] || frame[i+2] != ref[i+2] || frame[i+3] != ref[i+3] {
					diff++
					if diff <= 5 {
						t.Logf("pixel (%d, %d): %v, the reference's %v", (i/4)%w, (i/4)/w, frame[i:i+4], ref[i:i+4])
					}
				}
				if [4]byte(ref[i:i+4]) != white {
					drawn++
				}
			}
			t.Logf("%d of %d pixels differ from the Go reference (%d not background)", diff, len(ref)/4, drawn)
			if drawn == 0 || diff > len(ref)/4/5000 {
				t.Errorf("%d of %d pixels differ from the Go reference (%d not background)", diff, len(ref)/4, drawn)
			}
		})
	}
}

// TestRLRenderOptions: bad options fail with ErrInvalid before any GPU
// object is made, and a closed renderer refuses work.
func TestRLRenderOptions(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	d := gputest.Open(t, gpu.Options{})
	bad := []rl.RenderOptions{
		{Env: "Nope-v0", Envs: 1},
		{Env: "CartPole-v1", Envs: 0},
		{Env: "CartPole-v1", Envs: rl.MaxRenderEnvs + 1},
		{Env: "CartPole-v1", Envs: 4, Cols: 5},
		{Env: "CartPole-v1", Envs: 4, Cols: -1},
		{Env: "CartPole-v1", Envs: 4, CellWidth: 4},
		{Env: "CartPole-v1", Envs: 4, CellHeight: rl.MaxCellSide + 1},
		{Env: "CartPole-v1", Envs: 10000, CellWidth: 100, CellHeight: 100},
	}
	for _, o := range bad {
		r, err := rl.NewRenderer(d, o)
		if !errors.Is(err, rl.ErrInvalid) || r != nil {
			t.Errorf("%+v: %v, want ErrInvalid", o, err)
		}
		if d.Live() != 0 {
			t.Fatalf("%+v: %d GPU objects made", o, d.Live())
		}
	}
	if _, err := rl.NewRenderer(nil, rl.RenderOptions{Env: "CartPole-v1", Envs: 1}); !errors.Is(err, rl.ErrInvalid) {
		t.Errorf("nil device: %v", err)
	}
	x := io.NewBlocking().Io()
	r, err := rl.NewRenderer(d, rl.RenderOptions{Env: "Pendulum-v1", Envs: 3, CellWidth: 16, CellHeight: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render(x, make([]float32, 5), nil); !errors.Is(err, rl.ErrInvalid) {
		t.Errorf("5 values for 3 pendulums: %v", err)
	}
	small, err := d.NewBuffer(16, gpu.HostVisible)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	b := d.NewBatch()
	if err := r.RecordFrom(b, small, 0, 2); !errors.Is(err, rl.ErrInvalid) {
		t.Errorf("a 16-byte buffer for 3 states: %v", err)
	}
	if err := r.RecordFrom(b, small, 0, 1); !errors.Is(err, rl.ErrInvalid) {
		t.Errorf("stride 1: %v", err)
	}
	b.Close()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.Render(x, make([]float32, 6), nil); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestRLRenderFrom draws from a buffer of interleaved records (a GPU
// environment's layout): the same frame as from packed states.
func TestRLRenderFrom(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	d := gputest.Open(t, gpu.Options{})
	x := io.NewBlocking().Io()
	states := []float32{0.1, 0, 0.2, 0, -0.5, 0, -0.1, 0}
	r, err := rl.NewRenderer(d, rl.RenderOptions{Env: "CartPole-v1", Envs: 2, CellWidth: 60, CellHeight: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want, err := r.Render(x, states, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Offset 3, stride 7: records of 7 floats after 3 of padding.
	rec := make([]float32, 3+2*7)
	for i := range rec {
		rec[i] = float32(math.NaN())
	}
	copy(rec[3:], states[:4])
	copy(rec[10:], states[4:])
	buf, err := gpu.NewBufferFrom(x, d, gpu.HostVisible, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	b := d.NewBatch()
	if err := r.RecordFrom(b, buf, 3, 7); err != nil {
		b.Close()
		t.Fatal(err)
	}
	_, err = d.Run(x, b)
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, r.FrameBytes())
	if err := gpu.Download(x, r.Frame(), 0, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("the frame from strided records differs from the packed states'")
	}
}
