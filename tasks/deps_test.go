package tasks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goTool returns the go command of the toolchain running the test.
func goTool(t *testing.T) string {
	t.Helper()
	g := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(g); err != nil {
		t.Skipf("no go command beside the test's toolchain: %v", err)
	}
	return g
}

// tasks links no Vulkan: using a Graph or a Semaphore must not pull in gpu
// (its cgo loader), the shaders or the demo's PNG encoder. The GPU adapter
// lives in tasks/gputask.
func TestNoGPUDeps(t *testing.T) {
	cmd := exec.Command(goTool(t), "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", ".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/vkio/vkio/gpu",
		"github.com/vkio/vkio/gpu/internal/vkx",
		"github.com/vkio/vkio/shaders",
		"github.com/vkio/vkio/tasks/gputask",
		"github.com/vkio/vkio/internal/demo",
		"image/png",
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, cgoFiles, _ := strings.Cut(line, " ")
		seen++
		for _, f := range forbidden {
			if path == f {
				t.Errorf("tasks depends on %s", path)
			}
		}
		if strings.HasPrefix(path, "github.com/vkio/vkio/") && cgoFiles != "0" {
			t.Errorf("tasks depends on %s, which uses cgo (%s files)", path, cgoFiles)
		}
	}
	if seen < 10 {
		t.Fatalf("go list -deps listed only %d packages:\n%s", seen, out)
	}
}

// tasks builds without cgo.
func TestBuildsWithoutCgo(t *testing.T) {
	cmd := exec.Command(goTool(t), "build", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
}
