package gpu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// A process holding the pipeline cache's lock exclusively (here: another
// open File of the lock file, which conflicts as another process would)
// holds off Close's save until it lets go; the save then lands, by rename,
// with no temporary file left.
func TestPipelineCacheLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pipelines.bin")
	d, err := Open(Options{PipelineCache: path, Validation: true})
	check(t, err)
	k := must(d.NewKernel(shaders.SAXPY(), nil))
	check(t, k.Close())

	x := io.NewBlocking().Io()
	lock, err := io.Cwd().CreateFile(x, path+".lock", io.CreateOptions{Read: true, Keep: true})
	check(t, err)
	check(t, lock.Lock(x, true))
	done := make(chan error, 1)
	go func() { done <- d.Close() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Close saved while another held the cache's lock (Close = %v)", err)
	default:
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("cache written while its lock was held: %v", err)
	}
	check(t, lock.Unlock(x))
	check(t, <-done)
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("cache after the lock was released: %v %v", st, err)
	}
	ents, err := os.ReadDir(dir)
	check(t, err)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".vkio-pipeline-cache-") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
	// A shared lock held elsewhere does not keep Open from reading.
	check(t, lock.Lock(x, false))
	d2, err := Open(Options{PipelineCache: path, Validation: true})
	check(t, err)
	check(t, lock.Close(x))
	check(t, d2.Close())
}
