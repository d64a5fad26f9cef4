package readme

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// programs returns the fenced go blocks of README.md that are whole
// programs.
func programs(t *testing.T, readme string) []string {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		if strings.HasPrefix(m[1], "package main\n") {
			out = append(out, m[1])
		}
	}
	return out
}

// TestREADMEExamplesBuildOutside builds each README program in a module of
// its own, outside the tree, that requires github.com/vkio/vkio and
// replaces it with this checkout. The module cache already holds vkio's
// dependencies (this test's own build needed them), so no network is used:
// GOPROXY=off, GOFLAGS=-mod=mod.
func TestREADMEExamplesBuildOutside(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs with the go tool")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	progs := programs(t, filepath.Join(root, "README.md"))
	if len(progs) < 2 {
		t.Fatalf("README.md has %d complete programs; want the Io and the GPU examples", len(progs))
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for i, src := range progs {
		dir := t.TempDir()
		gomod := "module example.com/readme\n\ngo 1.26\n\nrequire github.com/vkio/vkio v0.0.0\n\nreplace github.com/vkio/vkio => " + root + "\n"
		for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(src)} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(goTool, "build", "-o", filepath.Join(dir, "prog"), ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README program %d does not build outside the tree: %v\n%s\n%s", i+1, err, out, src)
		}
	}
}
