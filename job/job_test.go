package job

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vkio/vkio/npy"
)

// TestGenerateAllocs: zeros and iota are one allocation, the contents (no
// buffer made up front and thrown away).
func TestGenerateAllocs(t *testing.T) {
	for _, kind := range []SourceKind{Zeros, Iota} {
		src := Source{Text: kind.String(), Kind: kind}
		if n := testing.AllocsPerRun(20, func() {
			if _, err := src.Generate(F32, 4096, 1, 0); err != nil {
				t.Fatal(err)
			}
		}); n != 1 {
			t.Errorf("%s: %v allocations, want 1", src.Text, n)
		}
	}
}

// saxpy is the shape of shaders/saxpy: x (read-only) and y, float[], and
// 8 bytes of push constants; local size 256 or constant 0.
var saxpy = &Shader{Name: "saxpy", PushSize: 8, LocalSize: [3]uint32{256, 1, 1}, LocalSizeSpec: [3]int{0, -1, -1},
	Spec: []SpecConst{{ID: 0, Type: SpecUint32}},
	Bindings: []BindingInfo{
		{Binding: 0, ReadOnly: true, RuntimeArray: true, Elem: F32, HasElem: true},
		{Binding: 1, RuntimeArray: true, Elem: F32, HasElem: true},
	}}

// TestResolveData: data sent with a job (serve's bindingN parts) is bound as
// it is, without generating anything, after the same size checks as a file;
// its size is the default size of the other bindings.
func TestResolveData(t *testing.T) {
	data := bytes.Repeat([]byte{1, 2, 3, 4}, 4)
	j := New("test.spv")
	j.Bind[0] = DataSource("part binding0", data)
	j.Push, j.PushGiven = []Value{{Type: F32, F: 2}, {Type: U32, U: 4}}, true
	r, err := j.Resolve(saxpy, nil, JSONNames)
	if err != nil {
		t.Fatal(err)
	}
	bs := r.Bindings
	if len(bs) != 2 || &bs[0].Data[0] != &data[0] || len(bs[0].Data) != len(data) || bs[0].Source != "part binding0" {
		t.Fatalf("binding 0: %+v, want the part's bytes themselves", bs[0])
	}
	if !bytes.Equal(bs[1].Data, make([]byte, len(data))) || bs[1].Source != "zeros" {
		t.Fatalf("binding 1: %d bytes from %s, want %d zero bytes", len(bs[1].Data), bs[1].Source, len(data))
	}
	j.Bind[0] = DataSource("part binding0", []byte{1, 2, 3, 4, 5, 6})
	if _, err := j.Resolve(saxpy, nil, JSONNames); err == nil || !strings.Contains(err.Error(), "not a whole number of f32 elements") {
		t.Fatalf("6 bytes of f32: %v", err)
	}
}

// TestSameJob: the flags and the JSON of one job build the same Job.
func TestSameJob(t *testing.T) {
	fj, err := FromFlags(Flags{Kernel: "saxpy", Binds: []string{"0=rand:1M", "1=fill:2.5"}, Types: []string{"1=f32"},
		Push: []string{"f32:2,u32:8"}, Spec: []string{"0=64"}, Grid: "512,512", Seed: 7}, FlagNames)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := DecodeJSON([]byte(`{"kernel":"saxpy","bind":{"0":"rand:1M","1":"fill:2.5"},"types":{"1":"f32"},
		"push":"f32:2,u32:8","spec":{"0":64},"grid":[512,512],"seed":7}`))
	if err != nil {
		t.Fatal(err)
	}
	jj, err := FromJSON(spec, JSONNames)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fj, jj) {
		t.Fatalf("flags: %+v\njson:  %+v", fj, jj)
	}
}

// TestNames: one check, worded for each front-end.
func TestNames(t *testing.T) {
	for _, c := range []struct {
		flags      Flags
		json       string
		field      Field
		flag, key  string
		usage      bool
		flagsNoKey string // the flag form must not say this
	}{
		{Flags{Push: []string{"f32"}}, `{"push":"f32"}`, FieldPush, `--push "f32": want TYPE:VALUE`, `push "f32": want TYPE:VALUE`, true, ""},
		{Flags{Binds: []string{"0=nope"}}, `{"bind":{"0":"nope"}}`, FieldBind, `--bind "0=nope": unknown source "nope"`, `bind "0=nope": unknown source`, true, ""},
		{Flags{Types: []string{"1=f16"}}, `{"types":{"1":"f16"}}`, FieldTypes, `--type "1=f16": unknown type "f16"`, `types "1=f16": unknown type`, true, ""},
		{Flags{Groups: "1", Grid: "1"}, `{"groups":1,"grid":1}`, FieldGroups, "--groups and --grid: give one or the other", "groups and grid: give one", true, ""},
		{Flags{Size: "12XB"}, `{"size":"12XB"}`, FieldSize, `--size: bad size "12XB"`, `size: bad size "12XB"`, true, ""},
	} {
		_, ferr := FromFlags(c.flags, FlagNames)
		spec, err := DecodeJSON([]byte(c.json))
		if err != nil {
			t.Fatal(err)
		}
		_, jerr := FromJSON(spec, JSONNames)
		var fe, je *Error
		if !errors.As(ferr, &fe) || !errors.As(jerr, &je) {
			t.Fatalf("%s: %v / %v: want *Error", c.field, ferr, jerr)
		}
		if fe.Field != c.field || je.Field != c.field || fe.Usage != c.usage || je.Usage != c.usage {
			t.Errorf("%s: fields %s/%s, usage %v/%v", c.field, fe.Field, je.Field, fe.Usage, je.Usage)
		}
		if !strings.Contains(fe.Error(), c.flag) || !strings.Contains(je.Error(), c.key) || strings.Contains(je.Error(), "--") {
			t.Errorf("%s:\n flags: %v (want %q)\n json:  %v (want %q)", c.field, fe, c.flag, je, c.key)
		}
	}
	// Resolution too: the shader wants push constants.
	j := New("saxpy")
	j.Bind[0] = Source{Text: "iota:8", Kind: Iota, Size: &Size{N: 8}}
	_, err := j.Resolve(saxpy, nil, FlagNames)
	if err == nil || !strings.Contains(err.Error(), "give them with --push TYPE:VALUE,...") {
		t.Errorf("flags: %v", err)
	}
	_, err = j.Resolve(saxpy, nil, JSONNames)
	if err == nil || !strings.Contains(err.Error(), `give them with push "TYPE:VALUE,..."`) {
		t.Errorf("json: %v", err)
	}
}

// TestResolveFile: a file source is read through the caller's ReadFunc,
// raw or .npy (whose type must be the binding's).
func TestResolveFile(t *testing.T) {
	dir := t.TempDir()
	var f32s bytes.Buffer
	if err := npy.Write(&f32s, "<f4", []int64{4}, make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"x.npy": f32s.Bytes(), "raw.bin": make([]byte, 16)}
	var u4 bytes.Buffer
	if err := npy.Write(&u4, "<u4", []int64{4}, make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	files["u.npy"] = u4.Bytes()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, p)) }
	j, err := FromFlags(Flags{Binds: []string{"0=file:x.npy", "1=file:raw.bin"}, Push: []string{"f32:1,u32:4"}}, FlagNames)
	if err != nil {
		t.Fatal(err)
	}
	r, err := j.Resolve(saxpy, read, FlagNames)
	if err != nil || len(r.Bindings[0].Data) != 16 || len(r.Bindings[1].Data) != 16 {
		t.Fatalf("%+v %v", r, err)
	}
	j.Bind[0] = Source{Text: "file:u.npy", Kind: File, Path: "u.npy"}
	if _, err := j.Resolve(saxpy, read, FlagNames); err == nil || !strings.Contains(err.Error(), "u.npy holds <u4 values, but the binding holds f32 (<f4); use --type") {
		t.Fatalf("u4 into f32: %v", err)
	}
	if _, err := j.Resolve(saxpy, nil, JSONNames); err == nil || !strings.Contains(err.Error(), "file sources are not read here") {
		t.Fatalf("no reader: %v", err)
	}
}

// TestWorkgroups: groups, grid, or one invocation per element.
func TestWorkgroups(t *testing.T) {
	j := New("k")
	counts := []Count{{0, 1000}, {1, 5000}}
	if g, how := j.Workgroups([3]uint32{256, 1, 1}, counts, FlagNames); g != [3]uint32{20, 1, 1} || how != "one invocation per element of binding 1" {
		t.Errorf("default: %v %s", g, how)
	}
	j.Grid = &[3]uint32{512, 512, 1}
	if g, how := j.Workgroups([3]uint32{16, 16, 1}, counts, FlagNames); g != [3]uint32{32, 32, 1} || how != "--grid" {
		t.Errorf("grid: %v %s", g, how)
	}
	j.Grid, j.Groups = nil, &[3]uint32{3, 2, 1}
	if g, how := j.Workgroups([3]uint32{16, 16, 1}, counts, JSONNames); g != [3]uint32{3, 2, 1} || how != "groups" {
		t.Errorf("groups: %v %s", g, how)
	}
	j.Spec[0] = SpecArg{Value: "64"}
	if l, err := j.LocalSize(saxpy, FlagNames); err != nil || l != [3]uint32{64, 1, 1} {
		t.Errorf("local size by constant 0: %v %v", l, err)
	}
}
