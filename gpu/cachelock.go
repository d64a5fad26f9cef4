package gpu

import (
	"context"
	"errors"
	"time"

	"github.com/vkio/vkio/io"
)

// The on-disk pipeline cache (Options.PipelineCache) is shared between
// processes: Open reads it under a shared flock and Close writes it (to a
// temporary file renamed over it) under an exclusive one, both on the lock
// file PATH.lock beside it, which stays there. A reader never meets a save
// half done (the rename alone ensures that) and two saves never overlap.

// cacheLockWait bounds the wait for another process's lock on the cache.
const cacheLockWait = 10 * time.Second

// lockCache takes a shared or exclusive lock on path's lock file, waiting
// at most cacheLockWait; unlock releases it. Where the lock file cannot be
// made (no folder yet, a system without flock) it returns the error and a
// no-op unlock: the caller goes on without the lock.
func lockCache(path string, exclusive bool) (unlock func(), err error) {
	x := io.NewBlocking().Io()
	f, err := io.Cwd().CreateFile(x, path+".lock", io.CreateOptions{Read: true, Keep: true, Perm: 0o644})
	if err != nil {
		return func() {}, err
	}
	ctx, stop := context.WithTimeout(context.Background(), cacheLockWait)
	defer stop()
	wx, cancel := x.WithContext(ctx)
	defer cancel()
	if err := f.Lock(wx, exclusive); err != nil {
		_ = f.Close(x)
		if errors.Is(err, io.ErrCanceled) {
			return func() {}, errf("lock pipeline cache", ErrTimeout, "%s held by another process for %v", path+".lock", cacheLockWait)
		}
		return func() {}, err
	}
	return func() { _ = f.Close(x) }, nil // closing releases the lock
}
