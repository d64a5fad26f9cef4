package main

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
)

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestPushBounded: issue 12's 32 MiB push of "u8:1,u8:1,..." (1.3 GB of
// RSS before) is refused at the cap, having allocated almost nothing.
func TestPushBounded(t *testing.T) {
	arg := strings.Repeat("u8:1,", (32<<20)/5)
	var err error
	n := allocated(func() { _, err = job.ParsePush(nil, arg) })
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d bytes of push constants", maxPushBytes)) {
		t.Fatalf("32 MiB push: %v", err)
	}
	if n > 1<<20 { // the values up to the cap, 4096 of them
		t.Fatalf("refusing a 32 MiB push allocated %d bytes", n)
	}
	// Through the flags, as serve's JSON reaches it.
	f := runFlags{push: []string{arg}}
	if _, err := f.parse("x.spv"); err == nil || !strings.Contains(err.Error(), "--push gives more than") {
		t.Fatalf("runFlags: %v", err)
	}
	// At the cap exactly, it is taken.
	vs, err := job.ParsePush(nil, strings.TrimSuffix(strings.Repeat("u8:1,", maxPushBytes), ","))
	if err != nil || len(vs) != maxPushBytes {
		t.Fatalf("%d bytes: %d values, %v", maxPushBytes, len(vs), err)
	}
	// Over two values, the total counts.
	if _, err := job.ParsePush(vs, "u8:1"); err == nil {
		t.Fatal("a second --push over the cap accepted")
	}
}

// TestFlagsTwice: a constant, type, binding or output file given twice is
// an error (they silently kept the last).
func TestFlagsTwice(t *testing.T) {
	for _, c := range []struct {
		f    runFlags
		want string
	}{
		{runFlags{spec: []string{"0=1", "0=2"}}, "constant 0 given twice"},
		{runFlags{spec: []string{"0=1,00=2"}}, "constant 0 given twice"},
		{runFlags{types: []string{"1=u32", "1=f32"}}, "--type: binding 1 given twice"},
		{runFlags{binds: []string{"1=zeros", "01=ones"}}, "--bind: binding 1 given twice"},
		{runFlags{outs: []string{"0=y.npy", "1=./y.npy"}}, "bindings 0 and 1 both go to"},
		{runFlags{outs: []string{"0=y.npy:2x2", "1=y.npy"}}, "bindings 0 and 1 both go to"},
		{runFlags{outs: []string{"0=y.npy:" + strings.Repeat("1x", 40) + "2"}}, "more than 32 dimensions"},
		{runFlags{outs: []string{"0=y.npy:4294967296x4294967296"}}, "more elements than a binding holds"},
		{runFlags{spec: []string{strings.Repeat("1=1,", 300)}}, "given twice"},
		{runFlags{binds: make([]string, maxBindings+1)}, "more than the 64"},
		{runFlags{show: 1 << 30}, "--show 1073741824: want 0 to 65536"},
	} {
		_, err := c.f.parse("x.spv")
		var ue usageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want a usage error with %q", c.f, err, c.want)
		}
	}
	m := map[uint32]specArg{}
	var ids []string
	for i := range maxSpecConstants + 1 {
		ids = append(ids, fmt.Sprintf("%d=1", i))
	}
	if err := job.ParseSpec(m, strings.Join(ids, ",")); err == nil || len(m) != maxSpecConstants {
		t.Fatalf("%d constants: %v, kept %d", len(ids), err, len(m))
	}
}

// TestErrorsQuoteLittle: an error quotes at most maxQuote bytes of its
// input, however long (a 10 MB value made a 20 MB error).
func TestErrorsQuoteLittle(t *testing.T) {
	long := strings.Repeat("é", 1<<20)
	for name, err := range map[string]error{
		"push":  func() error { _, err := job.ParsePush(nil, "f32:"+long); return err }(),
		"type":  func() error { _, err := job.ParseDType(long); return err }(),
		"size":  func() error { _, err := job.ParseSize(long); return err }(),
		"dims":  func() error { _, err := job.ParseDims(long); return err }(),
		"bind":  func() error { _, _, err := job.ParseBind("0="+long, job.FlagNames); return err }(),
		"spec":  job.ParseSpec(map[uint32]specArg{}, long),
		"value": func() error { _, err := job.ParseValue(u32, long); return err }(),
	} {
		if err == nil || len(err.Error()) > 512 || !strings.Contains(err.Error(), "…") {
			t.Errorf("%s: error of %d bytes: %.200v", name, len(err.Error()), err)
		}
	}
	if s := q(long); !strings.HasSuffix(s, "\"…") || len(s) > maxQuote+8 {
		t.Errorf("q: %s", s)
	}
}

// TestPublicMessage: what a client sees names no absolute path of the
// server's and is bounded.
func TestPublicMessage(t *testing.T) {
	for in, want := range map[string]string{
		"save 1=y.npy: io: create /srv/results/sub/.y.npy.0123.tmp: permission denied": "save 1=y.npy: io: create …/.y.npy.0123.tmp: permission denied",
		`open "/etc/passwd": denied`:            `open "…/passwd": denied`,
		"no such path \"/nope\": POST /jobs":    "no such path \"/nope\": POST /jobs",
		"bind 0=file:/home/u/x.bin: not read":   "bind 0=file:…/x.bin: not read",
		"push gives 4 bytes, but saxpy has 8":   "push gives 4 bytes, but saxpy has 8",
		"a/b/c relative paths stay: f32:2/3 ok": "a/b/c relative paths stay: f32:2/3 ok",
	} {
		if got := publicMessage(in); got != want {
			t.Errorf("publicMessage(%q) = %q, want %q", in, got, want)
		}
	}
	if got := publicMessage(strings.Repeat("x", 10<<20)); len(got) > maxMessage+len("…") {
		t.Errorf("a 10 MB message is sent as %d bytes", len(got))
	}
	s := &server{out: &saveRoot{name: "/srv/results"}}
	err := fmt.Errorf("save 1=sub/y.npy: %w", &io.Error{Op: "create", Path: "/srv/results/sub/y.npy", Err: errors.New("permission denied")})
	if got := s.publicErrorText(err); got != "save 1=sub/y.npy: io: create sub/y.npy: permission denied" {
		t.Errorf("save error: %q", got)
	}
}

// TestParseJobCaps: the job description's caps and duplicates, each a 400
// or 413 naming what was wrong.
func TestParseJobCaps(t *testing.T) {
	s := parseServer()
	s.out = &saveRoot{name: "out"}
	x := string(f32Bytes([]float32{1, 2, 3, 4}))
	saxpy := `{"kernel":"saxpy","push":"f32:2,u32:4"}`
	for _, c := range []struct {
		name   string
		r      *request
		status int
		want   string
	}{
		{"duplicate part", parsedMultipart(multipartBody("b", [2]string{"job", saxpy}, [2]string{"binding0", x}, [2]string{"binding0", x}), "b"), 400, `part "binding0" given twice`},
		{"duplicate binding part", parsedMultipart(multipartBody("b", [2]string{"job", saxpy}, [2]string{"binding0", x}, [2]string{"binding00", x}), "b"), 400, "binding 0 given twice"},
		{"duplicate job part", parsedMultipart(multipartBody("b", [2]string{"job", saxpy}, [2]string{"job", saxpy}), "b"), 400, `part "job" given twice`},
		{"too many parts", parsedMultipart(multipartBody("b", manyParts(maxParts+1)...), "b"), 400, "more than 66 parts"},
		{"job JSON too large", parsedJSON([]byte(`{"kernel":"saxpy","push":"` + strings.Repeat("u8:1,", maxJobJSON/5) + `"}`)), 413, "job JSON of"},
		{"deep JSON", parsedJSON([]byte(strings.Repeat("[", 100) + strings.Repeat("]", 100))), 400, "nested more than 8 deep"},
		{"duplicate key", parsedJSON([]byte(`{"kernel":"saxpy","kernel":"reduce"}`)), 400, `key "kernel" given twice`},
		{"duplicate spec key", parsedJSON([]byte(`{"kernel":"saxpy","spec":{"0":1,"0":2}}`)), 400, `key "0" given twice`},
		{"spec twice by number", parsedJSON([]byte(`{"kernel":"saxpy","spec":{"0":1,"00":2}}`)), 400, "constant 0 given twice"},
		{"spec value with a comma", parsedJSON([]byte(`{"kernel":"saxpy","spec":{"0":"1,1=2"}}`)), 400, "want a number"},
		{"spec array", parsedJSON([]byte(`{"kernel":"saxpy","spec":{"0":[1]}}`)), 400, "not []interface {}"},
		{"many spec", parsedJSON([]byte(`{"kernel":"saxpy","spec":{` + manyKeys(maxSpecConstants+1) + `}}`)), 400, "spec: 257 entries"},
		{"many binds", parsedJSON([]byte(`{"kernel":"saxpy","bind":{` + manyKeys(maxBindings+1) + `}}`)), 400, "bind: 65 entries"},
		{"saved twice", parsedJSON([]byte(`{"kernel":"saxpy","bind":{"0":"iota:4"},"push":"f32:2,u32:4","save":{"0":"a.npy","1":"a.npy"}}`)), 400, `both go to "a.npy"`},
		{"long unknown field", parsedJSON([]byte(`{"kernel":"saxpy","` + strings.Repeat("a", 60000) + `":1}`)), 400, `unknown field "aaaa`},
		{"long groups", parsedJSON([]byte(`{"kernel":"saxpy","groups":[` + strings.Repeat("1,", 1000) + `1]}`)), 400, "want \"X,Y,Z\""},
		{"long bind", parsedJSON([]byte(`{"kernel":"saxpy","bind":{"0":"zeros:` + strings.Repeat("9", 60000) + `"}}`)), 400, "bad size"},
		{"spirv over MaxModuleSize", parsedMultipart(multipartBody("b", [2]string{"job", `{"push":"f32:2,u32:4"}`}, [2]string{"spirv", strings.Repeat("\x03\x02\x23\x07", gpu.MaxModuleSize/4+1)}), "b"), 413, "the largest module is 1048576 bytes"},
		{"spirv invalid for Vulkan", parsedMultipart(multipartBody("b", [2]string{"job", `{"push":"f32:2,u32:4"}`}, [2]string{"spirv", string(mustRead(t, "../../gpu/testdata/pos.spv"))}), "b"), 400, "invalid for vulkan1.1"},
		{"npy shape over its data", parsedMultipart(multipartBody("b", [2]string{"job", saxpy}, [2]string{"binding0", string(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }\n", []byte(x)))}), "b"), 400, "holds 4000000000 bytes of data, but the file has 16"},
	} {
		j, herr := s.parseJob(c.r)
		if herr == nil || herr.status != c.status || !strings.Contains(herr.msg, c.want) {
			t.Errorf("%s: %v %+v; want %d and %q", c.name, herr, j, c.status, c.want)
			continue
		}
		if len(herr.msg) > 1024 {
			t.Errorf("%s: a message of %d bytes", c.name, len(herr.msg))
		}
	}
	// Good ones still parse.
	j, herr := s.parseJob(parsedMultipart(multipartBody("b", [2]string{"job", saxpy}, [2]string{"binding0", x}, [2]string{"binding1", x}), "b"))
	if herr != nil || len(j.job.Bind) != 2 || !bytes.Equal(j.job.Bind[1].Data, []byte(x)) {
		t.Fatalf("saxpy with parts: %v %+v", herr, j)
	}
}

func manyParts(n int) [][2]string {
	var ps [][2]string
	for i := range n {
		ps = append(ps, [2]string{fmt.Sprintf("binding%d", i), "x"})
	}
	return ps
}

func manyKeys(n int) string {
	var ks []string
	for i := range n {
		ks = append(ks, fmt.Sprintf(`"%d":"1"`, i))
	}
	return strings.Join(ks, ",")
}

// TestParseJobNoCopy: parsing a multipart job copies none of its data:
// the bindings are slices of the body (16 concurrent 30 MiB uploads took
// 1.55 GB).
func TestParseJobNoCopy(t *testing.T) {
	s := parseServer()
	s.cfg.maxRequest = 64 << 20
	data := bytes.Repeat([]byte{0, 0, 0x80, 0x3f}, 2<<20) // 8 MiB of 1.0
	body := multipartBody("bnd", [2]string{"job", `{"kernel":"saxpy","push":"f32:2,u32:2097152"}`}, [2]string{"binding0", string(data)}, [2]string{"binding1", string(data)})
	r := parsedMultipart(body, "bnd")
	var j *parsedJob
	var herr *httpError
	n := allocated(func() { j, herr = s.parseJob(r) })
	if herr != nil {
		t.Fatal(herr)
	}
	if n > 1<<20 {
		t.Errorf("parsing a %d-byte job allocated %d bytes", len(body), n)
	}
	for _, b := range []uint32{0, 1} {
		d := j.job.Bind[b].Data
		if !bytes.Equal(d, data) || !within(d, body) {
			t.Fatalf("binding %d: %d bytes, in the body: %v", b, len(d), within(d, body))
		}
	}
}

// within reports whether s is a slice of b's memory.
func within(s, b []byte) bool {
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

// TestModuleSet: a module validated once is remembered, up to
// maxValidModules; past that the set starts again empty; nil holds nothing.
func TestModuleSet(t *testing.T) {
	var nilSet *moduleSet
	nilSet.add("a")
	if nilSet.has("a") {
		t.Fatal("a nil set holds a key")
	}
	v := &moduleSet{}
	if v.has("a") {
		t.Fatal("an empty set holds a key")
	}
	for i := range maxValidModules {
		v.add(fmt.Sprint(i))
	}
	if !v.has("0") || !v.has(fmt.Sprint(maxValidModules-1)) || len(v.m) != maxValidModules {
		t.Fatalf("a full set lost keys: %d held", len(v.m))
	}
	v.add("one more")
	if v.has("0") || !v.has("one more") || len(v.m) != 1 {
		t.Fatalf("past the bound: %d held", len(v.m))
	}
}
