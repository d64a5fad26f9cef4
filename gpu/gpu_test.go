package gpu

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

func TestOpenReportsDevice(t *testing.T) {
	d, _ := open(t, Options{})
	info := d.Info()
	if info.Name == "" || !info.Usable {
		t.Fatalf("info %+v", info)
	}
	t.Logf("device %s; calibration %+v", info, d.Calibration())
	cal := d.Calibration()
	if cal.Method == "" || cal.ErrorBound < 0 {
		t.Fatalf("calibration %+v", cal)
	}
	if info.Type == CPU && strings.Contains(info.Name, "llvmpipe") {
		// lavapipe's counter is CLOCK_MONOTONIC in ns.
		if off := cal.Offset.Abs(); off > cal.ErrorBound+time.Millisecond {
			t.Fatalf("lavapipe offset %v beyond bound %v", cal.Offset, cal.ErrorBound)
		}
	}
	devs, err := Devices()
	if err != nil || len(devs) == 0 {
		t.Fatalf("Devices: %v %v", devs, err)
	}
}

func TestDeviceSelection(t *testing.T) {
	devs := must(Devices())
	d, _ := open(t, Options{Device: "0"})
	if d.Info().Index != 0 {
		t.Fatalf("index 0 gave %v", d.Info())
	}
	name := strings.ToUpper(devs[0].Name[:4])
	d2, _ := open(t, Options{Device: name})
	if !strings.HasPrefix(strings.ToUpper(d2.Info().Name), name) {
		t.Fatalf("name %q gave %v", name, d2.Info())
	}
	for _, spec := range []string{"99", "-1", "no-such-gpu"} {
		_, err := Open(Options{Device: spec})
		if !errors.Is(err, ErrNoDevice) {
			t.Fatalf("Device %q: %v, want ErrNoDevice", spec, err)
		}
		t.Logf("Device %q: %v", spec, err)
	}
	// Open reads no environment (an index out of range there would fail
	// it); OptionsFromEnv maps it.
	t.Setenv("VKIO_DEVICE", "42")
	t.Setenv("VKIO_VALIDATION", "0")
	open(t, Options{})
	if got := OptionsFromEnv(); got.Device != "42" || got.Validation {
		t.Fatalf("OptionsFromEnv with VKIO_DEVICE=42 VKIO_VALIDATION=0: %+v", got)
	}
	if _, err := Open(OptionsFromEnv()); !errors.Is(err, ErrNoDevice) {
		t.Fatalf("OptionsFromEnv with VKIO_DEVICE=42: %v", err)
	}
	t.Setenv("VKIO_DEVICE", " 0 ")
	t.Setenv("VKIO_VALIDATION", "1")
	if got := OptionsFromEnv(); got.Device != "0" || !got.Validation {
		t.Fatalf("OptionsFromEnv with VKIO_DEVICE=' 0 ' VKIO_VALIDATION=1: %+v", got)
	}
}

// TestLogger: a device logs to Options.Logger: its Open (Info), and each
// validation message at the message's level.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	l := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil))
	d, g := open(t, Options{Logger: l})
	logged := func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
	if text := logged(); !strings.Contains(text, "level=INFO") || !strings.Contains(text, "gpu: device opened") ||
		!strings.Contains(text, d.Info().Name) {
		t.Fatalf("log after Open: %q", text)
	}
	// A zero-size VkBuffer, made below vkio's own argument checks: the
	// layer reports an error, which is logged at level ERROR.
	check(t, d.vd.RawBuffer(0))
	if err := d.CheckValidation(); !errors.Is(err, ErrValidation) {
		t.Fatalf("no validation message for a zero-size buffer: %v", err)
	}
	g.take()
	if text := logged(); !strings.Contains(text, "level=ERROR") || !strings.Contains(text, "VUID-VkBufferCreateInfo-size-00912") {
		t.Fatalf("log after a validation error: %q", text)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestReflect(t *testing.T) {
	r := must(Reflect(shaders.SAXPY()))
	if r.Entry != "main" || r.LocalSize != [3]uint32{256, 1, 1} || r.LocalSizeSpec != [3]int{0, -1, -1} || r.PushSize != 8 {
		t.Fatalf("saxpy: %+v", r)
	}
	if len(r.Bindings) != 2 || !r.Bindings[0].ReadOnly || r.Bindings[1].ReadOnly || r.Bindings[0].Kind != StorageBuffer || !r.Bindings[1].RuntimeArray {
		t.Fatalf("saxpy bindings: %+v", r.Bindings)
	}
	if len(r.Spec) != 1 || r.Spec[0] != (SpecInfo{ID: 0, Type: SpecUint32, Default: 256}) {
		t.Fatalf("saxpy spec: %+v", r.Spec)
	}
	r = must(Reflect(shaders.Julia()))
	if r.LocalSize != [3]uint32{16, 16, 1} || r.PushSize != 40 || len(r.Bindings) != 1 || r.LocalSizeSpec != [3]int{-1, -1, -1} {
		t.Fatalf("julia: %+v", r)
	}
	r = must(Reflect(shaders.Reduce()))
	if r.LocalSize != [3]uint32{256, 1, 1} || r.PushSize != 4 || len(r.Spec) != 1 || r.Spec[0].Default != 4 {
		t.Fatalf("reduce: %+v", r)
	}
	r = must(Reflect(shaders.Tiny()))
	if r.LocalSize != [3]uint32{1, 1, 1} || r.PushSize != 0 || len(r.Bindings) != 1 || r.Bindings[0].ReadOnly {
		t.Fatalf("tiny: %+v", r)
	}
}

func TestReflectElem(t *testing.T) {
	square, err := os.ReadFile("../cmd/vkdemo/testdata/square.spv")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		spv  []byte
		want []Scalar // per binding, in order
	}{
		{"saxpy", shaders.SAXPY(), []Scalar{Float32, Float32}},
		{"reduce", shaders.Reduce(), []Scalar{Uint32, Uint32}},
		{"julia", shaders.Julia(), []Scalar{Uint32}},
		{"square", square, []Scalar{Uint32, Uint32}},
	} {
		r := must(Reflect(c.spv))
		if len(r.Bindings) != len(c.want) {
			t.Fatalf("%s: %d bindings, want %d", c.name, len(r.Bindings), len(c.want))
		}
		for i, b := range r.Bindings {
			if b.Elem != c.want[i] {
				t.Errorf("%s binding %d: Elem %v, want %v", c.name, b.Binding, b.Elem, c.want[i])
			}
		}
	}
}

// TestBlockElem covers the element-type rule on type tables the shaders in
// the repository do not have.
func TestBlockElem(t *testing.T) {
	types := map[uint32]*spvType{
		1:  {op: opTypeFloat, width: 32},
		2:  {op: opTypeFloat, width: 16},
		3:  {op: opTypeFloat, width: 64},
		4:  {op: opTypeInt, width: 32, signed: true},
		5:  {op: opTypeInt, width: 32},
		6:  {op: opTypeInt, width: 8},
		7:  {op: opTypeInt, width: 16, signed: true},
		8:  {op: opTypeInt, width: 64},
		9:  {op: opTypeBool, width: 32},
		10: {op: opTypeVector, elem: 1, count: 4},       // vec4
		11: {op: opTypeRuntimeArray, elem: 10},          // vec4[]
		12: {op: opTypeStruct, members: []uint32{5, 3}}, // struct { uint; double; }
		13: {op: opTypeRuntimeArray, elem: 12},          // struct[]
		14: {op: opTypeMatrix, elem: 10, count: 4},      // mat4
		15: {op: opTypeArray, elem: 7, count: 99},       // int16_t[N]
		16: {op: opTypeInt, width: 24},                  // no such scalar
		17: {op: opTypeStruct, members: []uint32{17}},   // malformed: contains itself
		18: {op: opTypeStruct, members: []uint32{}},     // empty
		19: {op: opTypeRuntimeArray, elem: 2},           // float16_t[]
		20: {op: opTypeRuntimeArray, elem: 8},           // uint64_t[]
		21: {op: opTypeRuntimeArray, elem: 6},           // uint8_t[]
		22: {op: opTypeRuntimeArray, elem: 4},           // int[]
	}
	for _, c := range []struct {
		members []uint32
		want    Scalar
	}{
		{[]uint32{5, 11}, Float32}, // { uint n; vec4 v[]; }: the array's element
		{[]uint32{1, 4}, Int32},    // last member
		{[]uint32{4, 12}, Uint32},  // first scalar of the last member
		{[]uint32{13}, Uint32},     // struct[]: first scalar of the element
		{[]uint32{14}, Float32},    // mat4
		{[]uint32{1, 15}, Int16},   // fixed array
		{[]uint32{19}, Float16},
		{[]uint32{3}, Float64},
		{[]uint32{20}, Uint64},
		{[]uint32{21}, Uint8},
		{[]uint32{22}, Int32},
		{[]uint32{9}, ScalarUnknown},
		{[]uint32{16}, ScalarUnknown},
		{[]uint32{17}, ScalarUnknown},
		{[]uint32{18}, ScalarUnknown},
		{[]uint32{99}, ScalarUnknown},
		{nil, ScalarUnknown},
	} {
		if got := blockElem(func(id uint32) *spvType { return types[id] }, &spvType{op: opTypeStruct, members: c.members}); got != c.want {
			t.Errorf("members %v: %v, want %v", c.members, got, c.want)
		}
	}
	if Uint16.String() != "uint16" || ScalarUnknown.String() != "unknown" || Scalar(99).String() != "Scalar(99)" {
		t.Errorf("String: %v %v %v", Uint16, ScalarUnknown, Scalar(99))
	}
}

func TestReflectRejectsMalformed(t *testing.T) {
	spv := shaders.SAXPY()
	cases := map[string][]byte{
		"empty":      nil,
		"short":      spv[:12],
		"odd length": spv[:len(spv)-1],
		"bad magic":  append([]byte{1, 2, 3, 4}, spv[4:]...),
		"text":       []byte(strings.Repeat("not a shader module ", 4)),
	}
	zero := append([]byte(nil), spv...)
	zero[20], zero[21], zero[22], zero[23] = 0, 0, 0, 0 // first instruction: word count 0
	cases["zero word count"] = zero
	huge := append([]byte(nil), spv...)
	huge[22], huge[23] = 0xff, 0xff // first instruction claims 65535 words
	cases["overlong instruction"] = huge
	for name, b := range cases {
		_, err := Reflect(b)
		if !errors.Is(err, ErrBadSPIRV) {
			t.Fatalf("%s: %v, want ErrBadSPIRV", name, err)
		}
		var ge *Error
		if !errors.As(err, &ge) || ge.Detail == "" {
			t.Fatalf("%s: not a detailed *Error: %v", name, err)
		}
	}
	// Every truncation at a word boundary is rejected.
	for n := 0; n < len(spv); n += 4 {
		if _, err := Reflect(spv[:n]); !errors.Is(err, ErrBadSPIRV) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
}

func TestNewKernelBadInput(t *testing.T) {
	d, _ := open(t, Options{})
	if _, err := d.NewKernel(shaders.SAXPY()[:100], nil); !errors.Is(err, ErrBadSPIRV) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := d.NewKernel(shaders.SAXPY(), &KernelOptions{Spec: map[uint32]any{0: uint32(4096)}}); !errors.Is(err, ErrLimit) {
		t.Fatalf("local size 4096: %v", err)
	}
	if _, err := d.NewKernel(shaders.SAXPY(), &KernelOptions{Spec: map[uint32]any{0: float32(1)}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("float for uint: %v", err)
	}
	if _, err := d.NewKernel(shaders.SAXPY(), &KernelOptions{Spec: map[uint32]any{7: 1}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown spec id: %v", err)
	}
	if _, err := d.NewKernel(shaders.SAXPY(), &KernelOptions{Spec: map[uint32]any{0: -1}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative uint: %v", err)
	}
	k := must(d.NewKernel(shaders.SAXPY(), &KernelOptions{Spec: map[uint32]any{0: 64}}))
	defer k.Close()
	if k.LocalSize() != [3]uint32{64, 1, 1} || k.Groups(100) != [3]uint32{2, 1, 1} {
		t.Fatalf("specialised local size %v groups %v", k.LocalSize(), k.Groups(100))
	}
}

func TestBadArguments(t *testing.T) {
	x := io.NewBlocking().Io()
	d, _ := open(t, Options{})
	for _, n := range []int{0, -4} {
		if _, err := d.NewBuffer(n, HostVisible); !errors.Is(err, ErrInvalid) {
			t.Fatalf("NewBuffer(%d): %v", n, err)
		}
	}
	k := must(d.NewKernel(shaders.SAXPY(), nil))
	defer k.Close()
	a := must(d.NewBuffer(1024, HostVisible))
	defer a.Close()
	c := must(d.NewBuffer(1024, DeviceLocal))
	defer c.Close()
	b := d.NewBatch()
	defer b.Close()
	push := Push(float32(2), uint32(256))
	if err := b.Dispatch(k, k.Groups(256), push, a); !errors.Is(err, ErrBinding) {
		t.Fatalf("one buffer for two bindings: %v", err)
	}
	if err := b.Dispatch(k, k.Groups(256), push[:4], a, c); !errors.Is(err, ErrBinding) {
		t.Fatalf("short push constants: %v", err)
	}
	lim := d.Info().Limits.MaxWorkGroupCount
	if err := b.Dispatch(k, [3]uint32{lim[0] + 1, 1, 1}, push, a, c); !errors.Is(err, ErrLimit) {
		t.Fatalf("too many groups: %v", err)
	}
	if err := b.Dispatch(nil, [3]uint32{1, 1, 1}, push, a, c); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil kernel: %v", err)
	}
	if err := b.Copy(a, 0, c, 512, 1024); !errors.Is(err, ErrInvalid) {
		t.Fatalf("copy beyond end: %v", err)
	}
	if err := b.Copy(a, 0, a, 100, 200); !errors.Is(err, ErrInvalid) {
		t.Fatalf("overlapping copy: %v", err)
	}
	if err := b.Fill(a, 2, 8, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unaligned fill: %v", err)
	}
	if err := b.DispatchIndirect(k, a, 1020, push, a, c); !errors.Is(err, ErrInvalid) {
		t.Fatalf("indirect args past the end: %v", err)
	}
	if err := Upload(x, a, 1000, make([]float32, 10)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("upload beyond end: %v", err)
	}
	if _, err := View[float32](c); c.Mapped() == false && !errors.Is(err, ErrNotMapped) {
		t.Fatalf("view of unmapped: %v", err)
	}
	// An empty batch is a valid submission.
	e := d.NewBatch()
	defer e.Close()
	if _, err := d.Run(x, e); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(x, b); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit closed batch: %v", err)
	}
	if _, err := d.Run(io.Failing(), e); !errors.Is(err, io.ErrUnsupported) {
		t.Fatalf("Failing Io: %v", err)
	}
}

// saxpyRef accepts either the fused or the unfused float32 result.
func saxpyOK(a, x, y, got float32) bool {
	unfused := a*x + y
	fused := float32(math.FMA(float64(a), float64(x), float64(y)))
	return got == unfused || got == fused
}

func randFloats(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*200 - 100
	}
	return s
}

func TestSAXPY(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		for _, tc := range []struct {
			name    string
			mem     Memory
			staging bool
		}{{"host", HostVisible, false}, {"device", DeviceLocal, false}, {"staged", DeviceLocal, true}} {
			t.Run(tc.name, func(t *testing.T) {
				d, _ := open(t, Options{ForceStaging: tc.staging})
				r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
				n := 100_000 + r.IntN(5000)
				xs, ys := randFloats(r, n), randFloats(r, n)
				a := r.Float32()*4 - 2
				bx := must(NewBufferFrom(x, d, tc.mem, xs))
				defer bx.Close()
				by := must(NewBufferFrom(x, d, tc.mem, ys))
				defer by.Close()
				if tc.staging && (bx.Mapped() || by.Mapped()) {
					t.Fatal("ForceStaging left a device-local buffer mapped")
				}
				k := must(d.NewKernel(shaders.SAXPY(), nil))
				defer k.Close()
				b := d.NewBatch()
				defer b.Close()
				check(t, b.Timestamp("start"))
				check(t, b.Dispatch(k, k.Groups(n), Push(a, uint32(n)), bx, by))
				check(t, b.Timestamp("end"))
				c := must(d.Submit(x, b).Await(x))
				got := make([]float32, n)
				check(t, Download(x, by, 0, got))
				for i := range got {
					if !saxpyOK(a, xs[i], ys[i], got[i]) {
						t.Fatalf("y[%d] = %v, want %v*%v+%v = %v", i, got[i], a, xs[i], ys[i], a*xs[i]+ys[i])
					}
				}
				span, ok := c.Span("start", "end")
				if !ok || span < 0 {
					t.Fatalf("span %v %v", span, ok)
				}
				bound := d.Calibration().ErrorBound + time.Millisecond
				if c.Stamps[0].At.Before(c.Submitted.Add(-bound)) || c.Stamps[1].At.After(c.Completed.Add(bound)) {
					t.Fatalf("stamps %v outside [%v, %v]", c.Stamps, c.Submitted, c.Completed)
				}
				t.Logf("n=%d kernel %v (submit→complete %v)", n, span, c.Completed.Sub(c.Submitted))
			})
		}
	})
}

func TestReduce(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		for _, items := range []int{4, 8} {
			d, _ := open(t, Options{})
			r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			n := 300_000 + r.IntN(10000)
			in := make([]uint32, n)
			var want uint32
			for i := range in {
				in[i] = r.Uint32()
				want += in[i]
			}
			k := must(d.NewKernel(shaders.Reduce(), &KernelOptions{Spec: map[uint32]any{0: items}}))
			per := 256 * items
			bufA := must(NewBufferFrom(x, d, DeviceLocal, in))
			bufB := must(d.NewBuffer(4*((n+per-1)/per), DeviceLocal))
			// Passes ping-pong between the buffers until one value is left;
			// the first pass's partial sums are checked one by one.
			src, dst := bufA, bufB
			first := true
			for m := n; m > 1; {
				groups := (m + per - 1) / per
				b := d.NewBatch()
				check(t, b.Dispatch(k, [3]uint32{uint32(groups), 1, 1}, Push(uint32(m)), src, dst))
				_, err := d.Run(x, b)
				check(t, err)
				check(t, b.Close())
				if first {
					part := make([]uint32, groups)
					check(t, Download(x, dst, 0, part))
					for g := range part {
						var s uint32
						for _, v := range in[g*per : min((g+1)*per, n)] {
							s += v
						}
						if part[g] != s {
							t.Fatalf("partial %d = %d, want %d", g, part[g], s)
						}
					}
					first = false
				}
				m = groups
				src, dst = dst, src
			}
			got := make([]uint32, 1)
			check(t, Download(x, src, 0, got))
			if got[0] != want {
				t.Fatalf("sum = %d, want %d", got[0], want)
			}
			check(t, bufA.Close())
			check(t, bufB.Close())
			check(t, k.Close())
		}
	})
}

// juliaRef mirrors shaders/julia.comp in float32.
func juliaRef(w, h int, x0, y0, dx, dy, cx, cy float32, maxIter uint32, mode uint32) []uint32 {
	out := make([]uint32, w*h)
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			c := shaders.JuliaRGBA(px, py, x0, y0, dx, dy, cx, cy, maxIter, mode)
			out[py*w+px] = uint32(c[0]) | uint32(c[1])<<8 | uint32(c[2])<<16 | uint32(c[3])<<24
		}
	}
	return out
}

func TestJulia(t *testing.T) {
	x := io.NewBlocking().Io()
	d, _ := open(t, Options{})
	k := must(d.NewKernel(shaders.Julia(), nil))
	defer k.Close()
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	w, h := 200+r.IntN(60), 150+r.IntN(40)
	for mode := uint32(0); mode < 2; mode++ {
		x0, y0 := float32(-2.2)+r.Float32()*0.2, float32(-1.3)+r.Float32()*0.2
		dx, dy := float32(3.0)/float32(w), float32(2.6)/float32(h)
		cx, cy := float32(-0.8)+r.Float32()*0.1, float32(0.156)
		const maxIter = 200
		px := must(d.NewBuffer(4*w*h, HostVisible))
		b := d.NewBatch()
		check(t, b.Dispatch(k, k.Groups(w, h), Push(uint32(w), uint32(h), x0, y0, dx, dy, cx, cy, uint32(maxIter), mode), px))
		_, err := d.Run(x, b)
		check(t, err)
		got := must(View[uint32](px))
		want := juliaRef(w, h, x0, y0, dx, dy, cx, cy, maxIter, mode)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("mode %d pixel (%d,%d) = %#08x, want %#08x", mode, i%w, i/w, got[i], want[i])
			}
		}
		check(t, b.Close())
		check(t, px.Close())
	}
}

func TestIndirectCopyFill(t *testing.T) {
	x := io.NewBlocking().Io()
	d, _ := open(t, Options{ForceStaging: true})
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	n := 10_000 + r.IntN(1000)
	k := must(d.NewKernel(shaders.SAXPY(), nil))
	defer k.Close()
	xs := randFloats(r, n)
	bx := must(NewBufferFrom(x, d, DeviceLocal, xs))
	defer bx.Close()
	by := must(d.NewBuffer(4*n, DeviceLocal))
	defer by.Close()
	out := must(d.NewBuffer(4*n, HostVisible))
	defer out.Close()
	args := must(NewBufferFrom(x, d, DeviceLocal, []uint32{0, 0, 0, uint32(k.Groups(n)[0]), 1, 1}))
	defer args.Close()
	b := d.NewBatch()
	defer b.Close()
	one := math.Float32bits(1)
	check(t, b.Fill(by, 0, 4*n, one))                                              // y = 1
	check(t, b.DispatchIndirect(k, args, 12, Push(float32(3), uint32(n)), bx, by)) // y = 3x + 1
	check(t, b.Copy(out, 0, by, 0, 4*n))
	for rep := 0; rep < 3; rep++ { // reusable: the fill resets y each time
		_, err := d.Run(x, b)
		check(t, err)
		got := must(View[float32](out))
		for i := range xs {
			if !saxpyOK(3, xs[i], 1, got[i]) {
				t.Fatalf("rep %d: out[%d] = %v, want %v", rep, i, got[i], 3*xs[i]+1)
			}
		}
	}
}

func TestReuseAndInFlight(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d, _ := open(t, Options{})
	k := must(d.NewKernel(shaders.Tiny(), nil))
	defer k.Close()
	const inFlight, total = 4, 200
	ctr := make([]*Buffer, inFlight)
	bs := make([]*Batch, inFlight)
	for i := range bs {
		ctr[i] = must(NewBufferFrom(x, d, HostVisible, []uint32{0, 0, 0, 0}))
		bs[i] = d.NewBatch()
		check(t, bs[i].Dispatch(k, [3]uint32{1, 1, 1}, nil, ctr[i]))
	}
	futs := make([]*io.Future[*Completion], inFlight)
	var last uint64
	for i := 0; i < total; i++ {
		s := i % inFlight
		if futs[s] != nil {
			c := must(futs[s].Await(x))
			if c.Value <= last-inFlight && last > inFlight {
				t.Fatalf("timeline value %d went backwards", c.Value)
			}
		}
		futs[s] = d.Submit(x, bs[s])
		last++
	}
	for _, f := range futs {
		must(f.Await(x))
	}
	for i := range bs {
		v := must(View[uint32](ctr[i]))
		if v[0] != total/inFlight {
			t.Fatalf("counter %d = %d, want %d", i, v[0], total/inFlight)
		}
		check(t, bs[i].Close())
		check(t, ctr[i].Close())
	}
}

// heavy builds a batch that keeps the device busy for at least 100 ms:
// SAXPY passes over 16 MiB, as many as heavyPasses found it takes.
func heavy(t *testing.T, d *Device) (*Batch, func()) {
	t.Helper()
	return heavyBatch(t, d, heavyPasses(t))
}

func heavyBatch(t *testing.T, d *Device, passes int) (*Batch, func()) {
	t.Helper()
	const n = 4 << 20
	k := must(d.NewKernel(shaders.SAXPY(), nil))
	bx := must(d.NewBuffer(4*n, DeviceLocal))
	by := must(d.NewBuffer(4*n, DeviceLocal))
	b := d.NewBatch()
	check(t, b.Fill(bx, 0, 4*n, 0))
	check(t, b.Fill(by, 0, 4*n, 0))
	for i := 0; i < passes; i++ {
		check(t, b.Dispatch(k, k.Groups(n), Push(float32(1), uint32(n)), bx, by))
	}
	return b, func() {
		check(t, b.Close())
		check(t, by.Close())
		check(t, bx.Close())
		check(t, k.Close())
	}
}

// heavyPasses times heavy batches once per test binary, on a device of its
// own (the tests' devices may have a wait timeout). Eight passes take
// lavapipe tens of milliseconds; a real GPU runs them in about a millisecond
// (1.5-2 ms on an H200, most of it the submission), so the count grows
// until a batch takes 100 ms (an H200 ran the same batch in 37 to 48 ms).
func heavyPasses(t *testing.T) int {
	t.Helper()
	heavyOnce.Do(func() {
		const enough = 100 * time.Millisecond
		d, _ := open(t, Options{})
		x := io.NewBlocking().Io()
		heavyN = 8
		for try := 0; try < 4 && heavyN < 1<<16; try++ {
			b, done := heavyBatch(t, d, heavyN)
			start := time.Now()
			took := must(d.Run(x, b)).Completed.Sub(start)
			done()
			if took >= enough {
				break
			}
			heavyN = min(heavyN*int(2*enough/max(took, time.Microsecond)+1), 1<<16)
		}
		t.Logf("heavy batch: %d SAXPY passes", heavyN)
	})
	return heavyN
}

var (
	heavyOnce sync.Once
	heavyN    int
)

func TestBusyAndCancel(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		d, _ := open(t, Options{})
		b, done := heavy(t, d)
		defer done()
		start := time.Now()
		full := must(d.Run(x, b))
		work := full.Completed.Sub(start)
		t.Logf("heavy batch: %v", work)

		var f *io.Future[*Completion]
		var canceledAt atomic.Int64
		if inline, _ := x.External("gpu.submit"); inline {
			// Cancel a blocking wait from another goroutine: the wait in
			// the driver ends at once (the device's wake semaphore).
			cx, cancel := x.WithCancel()
			time.AfterFunc(work/10, func() { canceledAt.Store(time.Now().UnixNano()); cancel() })
			start = time.Now()
			f = d.Submit(cx, b)
		} else {
			f = d.Submit(x, b)
			if _, err := d.Run(x, b); !errors.Is(err, ErrBusy) {
				t.Fatalf("resubmitting an in-flight batch: %v", err)
			}
			if err := b.Close(); !errors.Is(err, ErrBusy) {
				t.Fatalf("closing an in-flight batch: %v", err)
			}
			start = time.Now()
			f.Cancel(x)
		}
		_, err := f.Await(x)
		took := time.Since(start)
		if !errors.Is(err, io.ErrCanceled) || !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled wait: %v", err)
		}
		if took > work*3/4 {
			t.Fatalf("cancel took %v for %v of work", took, work)
		}
		if at := canceledAt.Load(); at != 0 {
			// Canceled at a tenth of the work, a wait that ran to the end
			// would end 0.9 of it late: half tells the two apart on a
			// loaded machine too (a tenth failed at a load of 10 on 2 cores).
			if late := time.Since(time.Unix(0, at)); late > work/2 {
				t.Fatalf("the blocking wait ended %v after its cancel (%v of work)", late, work)
			} else {
				t.Logf("the blocking wait ended %v after its cancel", late)
			}
		}
		t.Logf("cancel returned after %v: %v", took, err)
		// The work is still tracked: the batch is reusable once it finishes.
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := d.Run(io.NewBlocking().Io(), b)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
				t.Fatalf("after cancel: %v", err)
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func TestWaitTimeout(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		d, _ := open(t, Options{WaitTimeout: time.Millisecond})
		b, done := heavy(t, d)
		defer done()
		_, err := d.Run(x, b)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("1ms timeout: %v", err)
		}
		t.Log(err)
		check(t, d.vd.WaitIdle())
	})
}

func TestFaultInjection(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		d, _ := open(t, Options{})
		_, _, b := tiny(t, x, d)

		d.vd.InjectFault(vkx.FaultSubmit, vkx.ErrorOutOfDeviceMemory, 1)
		if _, err := d.Run(x, b); !errors.Is(err, ErrOutOfMemory) {
			t.Fatalf("submit OOM: %v", err)
		}
		d.vd.InjectFault(vkx.FaultAlloc, vkx.ErrorOutOfDeviceMemory, 1)
		if _, err := d.NewBuffer(64, DeviceLocal); !errors.Is(err, ErrOutOfMemory) {
			t.Fatalf("alloc OOM: %v", err)
		}
		d.vd.InjectFault(vkx.FaultWait, vkx.Timeout, 1)
		_, err := d.Run(x, b)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("wait timeout: %v", err)
		}
		var ge *Error
		if !errors.As(err, &ge) || ge.Result != int32(vkx.Timeout) {
			t.Fatalf("timeout error lacks the VkResult: %#v", err)
		}
		check(t, d.vd.WaitIdle())
		// Still usable after OOM and timeout.
		_, err = d.Run(x, b)
		check(t, err)

		d.vd.InjectFault(vkx.FaultWait, vkx.ErrorDeviceLost, 1)
		if _, err := d.Run(x, b); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("wait device lost: %v", err)
		}
		if _, err := d.Run(x, b); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("submit after loss: %v", err)
		}
		if _, err := d.NewBuffer(16, HostVisible); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("buffer after loss: %v", err)
		}
		// Objects with work in flight on a lost device are released by Close.
		check(t, d.Close())
	})
	t.Run("submit-lost", func(t *testing.T) {
		x := io.NewBlocking().Io()
		d, _ := open(t, Options{})
		b := d.NewBatch()
		defer b.Close()
		d.vd.InjectFault(vkx.FaultSubmit, vkx.ErrorDeviceLost, 1)
		if _, err := d.Run(x, b); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("submit device lost: %v", err)
		}
		if err := d.CheckValidation(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestValidationGateCatchesErrors(t *testing.T) {
	d, g := open(t, Options{})
	check(t, d.CheckValidation())
	// A zero-size VkBuffer, made below vkio's own argument checks.
	check(t, d.vd.RawBuffer(0))
	err := d.CheckValidation()
	if !errors.Is(err, ErrValidation) || !strings.Contains(err.Error(), "VUID-VkBufferCreateInfo-size-00912") {
		t.Fatalf("gate missed the deliberate error: %v", err)
	}
	msgs := g.take() // the deliberate error must not fail the test
	if len(msgs) == 0 || !msgs[0].Error {
		t.Fatalf("OnMessage saw %v", msgs)
	}
	t.Logf("caught: %s", msgs[0])
}

// Two devices open at once keep their validation messages apart: each has
// an instance of its own while open (instances are reused, one lessee at a
// time), so a deliberate error on one reaches only its gate.
func TestValidationPerDevice(t *testing.T) {
	a, ga := open(t, Options{})
	b, gb := open(t, Options{})
	check(t, a.vd.RawBuffer(0))
	if !errors.Is(a.CheckValidation(), ErrValidation) {
		t.Fatal("device a's gate missed its deliberate error")
	}
	ga.take() // expected
	check(t, b.CheckValidation())
	if msgs := gb.take(); len(msgs) > 0 {
		t.Fatalf("device b saw device a's messages: %v", msgs)
	}
}

func TestPipelineCacheOnDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache", "pipelines.bin")
	for round := 0; round < 2; round++ {
		d, err := Open(Options{PipelineCache: path, Validation: true})
		check(t, err)
		k := must(d.NewKernel(shaders.SAXPY(), nil))
		check(t, k.Close())
		check(t, d.Close())
		st, err := os.Stat(path)
		if err != nil || st.Size() == 0 {
			t.Fatalf("round %d: cache file %v %v", round, st, err)
		}
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(Options{PipelineCache: path, Validation: true}) // a bad cache is ignored
	check(t, err)
	check(t, d.Close())
}

// TestOpenCloseRepeatedly opens, uses and closes a device 40 times in one
// process. NVIDIA's driver (580.159.04, H200) refused the 31st
// vkCreateInstance of a process with VK_ERROR_INCOMPATIBLE_DRIVER when each
// Open made and destroyed its own instance; devices now share one instance
// per configuration, and only the VkDevice comes and goes.
func TestOpenCloseRepeatedly(t *testing.T) {
	x := io.NewBlocking().Io()
	for i := 0; i < 40; i++ {
		d, g := open(t, Options{})
		k, c, b := tiny(t, x, d)
		must(d.Run(x, b))
		if v := must(View[uint32](c)); v[0] != 1 {
			t.Fatalf("open %d: counter %d, want 1", i, v[0])
		}
		check(t, b.Close())
		check(t, c.Close())
		check(t, k.Close())
		check(t, d.Close())
		if msgs := g.take(); len(msgs) > 0 {
			t.Fatalf("open %d: validation messages %v", i, msgs)
		}
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	x := io.NewBlocking().Io()
	d, err := Open(Options{Validation: true})
	check(t, err)
	k := must(d.NewKernel(shaders.Tiny(), nil))
	c := must(d.NewBuffer(16, HostVisible))
	b := d.NewBatch()
	check(t, b.Dispatch(k, [3]uint32{1, 1, 1}, nil, c))
	must(d.Run(x, b))
	if d.Live() != 3 {
		t.Fatalf("live %d", d.Live())
	}
	check(t, d.Close()) // destroys the batch, kernel and buffer
	if msgs := d.Messages(); len(msgs) != 0 {
		t.Fatalf("messages: %v", msgs)
	}
	check(t, d.Close())
	if _, err := d.NewBuffer(4, HostVisible); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := d.Run(x, b); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}
