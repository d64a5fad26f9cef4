package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests run the built binary, as a user would: TestMain builds it (with
// -race when the tests themselves run with -race) into a temporary folder,
// and every test execs it with VKIO_VALIDATION=1, so that any message of the
// Khronos validation layer makes the command, and so the test, fail.
// VKDEMO_TEST_BIN names a binary built beforehand instead (for a machine
// without the Go toolchain, such as a lent GPU machine running a test binary
// built elsewhere with go test -c).

var vkdemoBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		dir, err := os.MkdirTemp("", "vkio-runtime-")
		if err == nil {
			os.Setenv("XDG_RUNTIME_DIR", dir)
			defer os.RemoveAll(dir)
		}
	}
	if bin := os.Getenv("VKDEMO_TEST_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		vkdemoBin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "vkdemo-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	vkdemoBin = filepath.Join(dir, "vkdemo")
	args := []string{"build", "-o", vkdemoBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	build := exec.Command(goTool, append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building vkdemo:", err)
		return 1
	}
	return m.Run()
}

// result is what a run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

// vkdemo runs the binary with args in dir (the test's working folder when
// ""), with the validation layer on and extra environment variables env.
func vkdemo(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, vkdemoBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vkdemo %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "WARNING: DATA RACE") {
		t.Fatalf("vkdemo %s: crashed:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// needGlslc skips a test that compiles GLSL where glslc is not installed.
// scripts/deps.sh installs it, so it runs in CI; a machine given only the
// test binary (a lent GPU machine) may lack it.
func needGlslc(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("glslc"); err != nil {
		t.Skip("glslc is not installed (scripts/deps.sh installs it)")
	}
}

// chosenDevice is the device vkdemo picks on this machine (`vkdemo devices
// --json`): lavapipe in CI, the GPU where there is one. Tests name it
// rather than assume lavapipe.
func chosenDevice(t *testing.T) deviceJSON {
	t.Helper()
	chosenOnce.Do(func() {
		// Stays set if vkdemo fails the test that got here first, so
		// that every later test fails with it too.
		chosenErr = "vkdemo devices --json did not complete (see the first test that asked)"
		r := vkdemo(t, "", nil, "devices", "--json")
		var rep devicesReport
		if err := jsonDecoder(r.stdout).Decode(&rep); err != nil || r.code != 0 || rep.Chosen < 0 || rep.Chosen >= len(rep.Devices) {
			chosenErr = fmt.Sprintf("vkdemo devices --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
			return
		}
		chosen, chosenErr = rep.Devices[rep.Chosen], ""
	})
	if chosenErr != "" {
		t.Fatal(chosenErr)
	}
	return chosen
}

var (
	chosenOnce sync.Once
	chosen     deviceJSON
	chosenErr  string
)

// ok runs vkdemo and fails the test unless it exits 0 with nothing on stderr.
func ok(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := vkdemo(t, dir, nil, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("vkdemo %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// repo returns the path of a file in the repository, from this package.
func repo(p string) string {
	abs, err := filepath.Abs(filepath.Join("..", "..", p))
	if err != nil {
		panic(err)
	}
	return abs
}

// npyFile is a parsed .npy file.
type npyFile struct {
	descr string
	shape string
	data  []byte
}

// readNpy parses a .npy file independently of the code under test.
func readNpy(t *testing.T, path string) npyFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" || b[6] != 1 || b[7] != 0 {
		t.Fatalf("%s: not a .npy 1.0 file: % x", path, b[:min(len(b), 10)])
	}
	hlen := int(binary.LittleEndian.Uint16(b[8:]))
	if (10+hlen)%64 != 0 {
		t.Fatalf("%s: data offset %d not 64-aligned", path, 10+hlen)
	}
	h := string(b[10 : 10+hlen])
	if !strings.HasSuffix(h, "\n") || !strings.HasPrefix(h, "{") {
		t.Fatalf("%s: bad header %q", path, h)
	}
	get := func(key, open, close string) string {
		i := strings.Index(h, "'"+key+"': "+open)
		if i < 0 {
			t.Fatalf("%s: no %s in %q", path, key, h)
		}
		rest := h[i+len(key)+4+len(open):]
		return rest[:strings.Index(rest, close)]
	}
	if !strings.Contains(h, "'fortran_order': False") {
		t.Fatalf("%s: header %q", path, h)
	}
	return npyFile{descr: get("descr", "'", "'"), shape: get("shape", "(", ")"), data: b[10+hlen:]}
}

// f32s decodes little-endian float32s.
func f32s(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func u32s(b []byte) []uint32 {
	v := make([]uint32, len(b)/4)
	for i := range v {
		v[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return v
}

func TestDevicesText(t *testing.T) {
	dev := chosenDevice(t)
	out := ok(t, "", "devices")
	for _, want := range []string{dev.Name, "workgroup size", "shared memory", "timestamps", "vulkan", "robust access",
		fmt.Sprintf("* chosen: #%d", dev.Index)} {
		if !strings.Contains(out, want) {
			t.Errorf("devices output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+type\s+` + regexp.QuoteMeta(dev.Type) + `$`).MatchString(out) {
		t.Errorf("devices output lacks the type line %q:\n%s", dev.Type, out)
	}
}

func TestDevicesJSON(t *testing.T) {
	out := ok(t, "", "devices", "--json")
	var rep devicesReport
	dec := jsonDecoder(out)
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("devices --json: %v\n%s", err, out)
	}
	chosen := 0
	for i := range rep.Devices {
		d := &rep.Devices[i]
		if d.Chosen {
			chosen++
			if d.Index != rep.Chosen {
				t.Errorf("device %d marked chosen, report says %d", d.Index, rep.Chosen)
			}
		}
		if d.Name == "" || d.Type == "" || d.APIVersion == "" {
			t.Errorf("device %d: %+v", i, *d)
		}
		// The chosen device is one vkio drives: Vulkan 1.2 or later, so
		// it reports its driver; compute limits; timestamps (every device
		// these tests run on has them).
		l := d.Limits
		if d.Chosen && (d.Driver == "" || !d.Usable || l.MaxWorkgroupInvocations == 0 || l.MaxWorkgroupCount[0] == 0 ||
			l.MaxSharedMemoryBytes == 0 || !d.Timestamps.Supported || d.Timestamps.PeriodNs <= 0 || d.ComputeQueues < 1) {
			t.Errorf("chosen device %d: %+v", i, *d)
		}
	}
	if chosen != 1 || rep.Chosen < 0 {
		t.Fatalf("%d devices chosen, chosen=%d", chosen, rep.Chosen)
	}
	// lavapipe (CI) is a CPU device.
	for _, d := range rep.Devices {
		if strings.Contains(d.Name, "llvmpipe") && d.Type != "cpu" {
			t.Errorf("lavapipe's type is %q, want cpu", d.Type)
		}
	}
	// Stable field names, as documented.
	for _, key := range []string{`"chosen"`, `"devices"`, `"index"`, `"name"`, `"type"`, `"api_version"`, `"driver"`, `"limits"`,
		`"max_workgroup_count"`, `"max_workgroup_size"`, `"max_workgroup_invocations"`, `"max_shared_memory_bytes"`, `"timestamps"`, `"period_ns"`,
		`"compute_queues"`, `"transfer_queues"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	// --device by name picks the first device whose name contains it,
	// ignoring case (the last usable one listed, so that on a machine with
	// several the choice is not the default's).
	last := rep.Devices[rep.Chosen]
	for _, d := range rep.Devices {
		if d.Usable {
			last = d
		}
	}
	want := last.Index
	for _, d := range rep.Devices {
		if strings.Contains(strings.ToLower(d.Name), strings.ToLower(last.Name)) {
			want = d.Index
			break
		}
	}
	out = ok(t, "", "--device", last.Name, "devices", "--json")
	if err := jsonDecoder(out).Decode(&rep); err != nil || rep.Chosen != want {
		t.Fatalf("--device %q: chosen %d, want %d (%v)", last.Name, rep.Chosen, want, err)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"devices", "--help"}, {"run", "--help"}, {"help", "run"}} {
		out := ok(t, "", args...)
		if !strings.Contains(out, "Example") && !strings.Contains(out, "Usage") {
			t.Errorf("%v: no usage:\n%s", args, out)
		}
	}
	out := ok(t, "", "run", "--help")
	for _, want := range []string{"--bind", "rand", "file:PATH", "KiB", "--push", "--spec", "--groups", "--grid", ".npy", "--watch", "Exit status", "vkdemo run shaders/saxpy.comp"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
}

// TestRunComp runs SAXPY from GLSL on random x (saved with --out) and y from
// a .npy file, and checks y against the CPU.
func TestRunComp(t *testing.T) {
	needGlslc(t)
	dir := t.TempDir()
	const n = 5000
	y0 := make([]float32, n)
	for i := range y0 {
		y0[i] = float32(i%97) - 40
	}
	writeNpyF32(t, filepath.Join(dir, "y0.npy"), y0)
	for _, kind := range []string{"blocking", "threaded", "evented"} {
		t.Run(kind, func(t *testing.T) {
			out := ok(t, dir, "--io", kind, "run", repo("shaders/saxpy.comp"),
				"--bind", "0=rand:5000", "--bind", "1=file:y0.npy", "--push", "f32:2.5,u32:5000",
				"--out", "0=x.raw", "--out", "1=y-"+kind+".npy")
			for _, want := range []string{"glslc", "local size 256x1x1", "dispatch  20x1x1", "gpu time", "output 1  f32[5000]", "wrote     y-" + kind + ".npy", "io " + kind} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			raw, err := os.ReadFile(filepath.Join(dir, "x.raw"))
			if err != nil || len(raw) != 4*n {
				t.Fatalf("x.raw: %d bytes, %v", len(raw), err)
			}
			x := f32s(raw)
			npy := readNpy(t, filepath.Join(dir, "y-"+kind+".npy"))
			if npy.descr != "<f4" || npy.shape != "5000," {
				t.Fatalf("npy descr %q shape %q", npy.descr, npy.shape)
			}
			y := f32s(npy.data)
			distinct := map[float32]bool{}
			for i := range n {
				if x[i] < 0 || x[i] >= 1 {
					t.Fatalf("rand x[%d] = %v outside [0,1)", i, x[i])
				}
				distinct[x[i]] = true
				if want := 2.5*x[i] + y0[i]; math.Abs(float64(y[i]-want)) > 1e-5 {
					t.Fatalf("y[%d] = %v, want %v", i, y[i], want)
				}
			}
			if len(distinct) < n/2 {
				t.Fatalf("rand gave only %d distinct values", len(distinct))
			}
		})
	}
}

// TestRunSPIRV runs a uint32 shader from SPIR-V with specialization
// constants, checking the raw and .npy outputs, and a 2-D .npy shape.
func TestRunSPIRV(t *testing.T) {
	dir := t.TempDir()
	out := ok(t, dir, "run", repo("cmd/vkdemo/testdata/square.spv"), "--bind", "0=iota:4KiB", "--spec", "0=u32:32,1=7",
		"--out", "1=sq.npy:32x32", "--out", "0=in.bin", "--show", "4")
	for _, want := range []string{"(SPIR-V)", "local size 32x1x1", "dispatch  32x1x1", "u32[1024]", "[7 8 11 16 ...]", "npy <u4 (32, 32)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	npy := readNpy(t, filepath.Join(dir, "sq.npy"))
	if npy.descr != "<u4" || npy.shape != "32, 32" {
		t.Fatalf("npy descr %q shape %q", npy.descr, npy.shape)
	}
	for i, v := range u32s(npy.data) {
		if want := uint32(i*i + 7); v != want {
			t.Fatalf("out[%d] = %d, want %d", i, v, want)
		}
	}
	in, _ := os.ReadFile(filepath.Join(dir, "in.bin"))
	for i, v := range u32s(in) {
		if v != uint32(i) {
			t.Fatalf("in.bin[%d] = %d", i, v)
		}
	}
	// --out-dir writes every writable binding; --groups sets the dispatch.
	ok(t, dir, "--io", "threaded", "run", repo("cmd/vkdemo/testdata/square.spv"), "--bind", "0=fill:3:100", "--groups", "1", "--out-dir", "res/sub")
	npy = readNpy(t, filepath.Join(dir, "res", "sub", "binding1.npy"))
	vals := u32s(npy.data)
	if len(vals) != 100 || vals[0] != 9 || vals[63] != 9 || vals[64] != 0 {
		t.Fatalf("one workgroup of 64 over 100 elements: %v", vals)
	}
}

// TestBadInput checks that each kind of bad input gives one clear line on
// stderr and the documented exit status, and leaves no partial file.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("bad.comp", "#version 450\nlayout(local_size_x = 1) in;\nvoid main() {\n    undeclared = 1;\n}\n")
	spv, err := os.ReadFile(repo("shaders/saxpy.spv"))
	if err != nil {
		t.Fatal(err)
	}
	write("trunc.spv", string(spv[:len(spv)/2]))
	write("garbage.spv", "this is not SPIR-V at all, just text\n")
	write("odd.bin", "12345")
	write("afile", "x")
	if err := os.MkdirAll(filepath.Join(dir, "empty-path"), 0o755); err != nil {
		t.Fatal(err)
	}
	saxpy := repo("shaders/saxpy.spv")
	std := []string{"--bind", "0=iota:256", "--push", "f32:1,u32:256"}
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		msg  string
	}{
		{"unknown command", nil, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"misspelt command", nil, []string{"devics"}, 2, `did you mean "devices"`},
		{"unknown flag", nil, []string{"run", saxpy, "--frobnicate"}, 2, "unknown flag: --frobnicate"},
		{"unknown global flag", nil, []string{"--nope", "devices"}, 2, "unknown flag: --nope"},
		{"bad io", nil, []string{"--io", "fibers", "devices"}, 2, `--io "fibers": unknown Io implementation`},
		{"bad device", nil, []string{"--device", "99", "devices"}, 2, `--device "99"`},
		{"no shader", nil, []string{"run"}, 2, "missing SHADER"},
		{"bad bind source", nil, []string{"run", saxpy, "--bind", "0=random:10"}, 2, `unknown source "random"`},
		{"bad bind syntax", nil, []string{"run", saxpy, "--bind", "zeros"}, 2, "want B=SOURCE"},
		{"bad size", nil, []string{"run", saxpy, "--bind", "0=zeros:12XB"}, 2, `unknown unit "XB"`},
		{"bad push type", nil, []string{"run", saxpy, "--push", "f16:1"}, 2, `unknown type "f16"`},
		{"bad push value", nil, []string{"run", saxpy, "--push", "u32:-1"}, 2, `"-1" is not a valid u32`},
		{"bad groups", nil, []string{"run", saxpy, "--groups", "0,1"}, 2, "not a positive count"},
		{"missing push", nil, []string{"run", saxpy, "--bind", "0=iota:256"}, 2, "8 bytes of push constants"},
		{"short push", nil, []string{"run", saxpy, "--bind", "0=iota:256", "--push", "f32:1"}, 2, "--push gives 4 bytes"},
		{"no such binding", nil, append([]string{"run", saxpy, "--bind", "3=zeros:4"}, std[2:]...), 2, "has no binding 3"},
		{"no such spec", nil, append([]string{"run", saxpy, "--spec", "4=1"}, std...), 2, "no specialization constant 4"},
		{"spec type", nil, append([]string{"run", saxpy, "--spec", "0=f32:1"}, std...), 2, "is u32 in the shader, not f32"},
		{"does not compile", nil, []string{"run", "bad.comp"}, 1, "bad.comp:4: error: 'undeclared' : undeclared identifier"},
		{"no glslc", []string{"PATH=" + filepath.Join(dir, "empty-path")}, []string{"run", "bad.comp"}, 1, "glslc is not installed"},
		{"missing shader", nil, []string{"run", "nope.spv"}, 1, "no such file or directory"},
		{"truncated SPIR-V", nil, append([]string{"run", "trunc.spv"}, std...), 2, "bad SPIR-V"},
		{"garbage SPIR-V", nil, append([]string{"run", "garbage.spv"}, std...), 2, "bad SPIR-V"},
		// Reflects, but Vulkan-invalid (issue 12: it crashed lavapipe).
		{"invalid for Vulkan", nil, []string{"run", repo("gpu/testdata/pos.spv"), "--bind", "0=zeros:256", "--push", "u32:16,u32:16,f32:0,f32:0,f32:0.1,f32:0.1,f32:0,f32:0,u32:10,u32:0"}, 2, "invalid for vulkan1.2"},
		{"unknown shader kind", nil, []string{"run", "afile"}, 2, "not SPIR-V"},
		{"sizes differ", nil, append([]string{"run", saxpy, "--bind", "1=zeros:100"}, std...), 1, "binding sizes do not match"},
		{"partial element", nil, append([]string{"run", saxpy, "--bind", "1=file:odd.bin"}, std...), 1, "not a whole number of f32 elements"},
		{"missing input file", nil, append([]string{"run", saxpy, "--bind", "1=file:nope.bin"}, std...), 1, "no such file"},
		{"too many groups", nil, append([]string{"run", saxpy, "--groups", "100000,100000,100000"}, std...), 2, "beyond device limits"},
		{"out folder missing", nil, append([]string{"run", saxpy, "--out", "1=no/such/dir/y.npy"}, std...), 1, "no/such/dir"},
		{"out folder is a file", nil, append([]string{"run", saxpy, "--out-dir", "afile/sub"}, std...), 1, "cannot create the folder"},
		{"out is a folder", nil, append([]string{"run", saxpy, "--out", "1=empty-path"}, std...), 1, "empty-path is a folder"},
		{"bad shape", nil, append([]string{"run", saxpy, "--out", "1=y.npy:10x10"}, std...), 2, "holds 100 elements, but the binding has 256"},
		{"full disk", nil, append([]string{"run", saxpy, "--out", "1=/dev/full"}, std...), 1, "no space left on device"},
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		cases = append(cases, struct {
			name string
			env  []string
			args []string
			code int
			msg  string
		}{"read-only folder", nil, append([]string{"run", saxpy, "--out", "1=ro/y.npy"}, std...), 1, "permission denied"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "does not compile" {
				needGlslc(t)
			}
			r := vkdemo(t, dir, c.env, c.args...)
			checkFailure(t, r, c.code, c.msg)
		})
	}
	// Nothing half-written: no temporary files left, no y.npy.
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.HasSuffix(p, ".tmp") || filepath.Base(p) == "y.npy") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeNpyF32 writes a 1-D float32 .npy file (independently of npyHeader).
func writeNpyF32(t *testing.T, path string, v []float32) {
	t.Helper()
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", len(v))
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	dict += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	b = append(b, dict...)
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// jsonDecoder returns a strict decoder of s.
func jsonDecoder(s string) *json.Decoder {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec
}

// checkFailure checks a failed run the way every bad-input test wants it: the
// exit status, exactly one "vkdemo: ..." line on stderr naming the problem
// (containing msg), and no usage dump for a runtime error.
func checkFailure(t *testing.T, r result, code int, msg string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "vkdemo: ") {
		t.Errorf("stderr is not one vkdemo: line:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, msg) {
		t.Errorf("stderr lacks %q:\n%s", msg, r.stderr)
	}
	if code == 1 && strings.Contains(r.stdout, "Usage:") {
		t.Errorf("usage dump on a runtime error:\n%s", r.stdout)
	}
}
