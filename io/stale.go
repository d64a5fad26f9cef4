package io

import (
	"errors"
	"fmt"
	stdio "io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"syscall"
)

// Stale temporary files.
//
// A process killed while it writes an AtomicFile (SIGKILL, a crash, a power
// cut) leaves the temporary file, ".NAME.PID-RANDOM.tmp", beside the final
// name. Dir.RemoveStaleTemps removes them, without ever removing the temporary
// file of a live writer. Two facts, each sufficient while the other cannot be
// relied on, prove a writer dead:
//
//   - The lock. CreateAtomic holds an exclusive flock(2) on the temporary file
//     from just after creating it until it is closed. The kernel drops the
//     lock when the last descriptor closes, however the process ends; a live
//     writer's lock cannot be taken. Locks know nothing of PIDs, so they are
//     immune to PID reuse and work across PID namespaces sharing the folder.
//   - The PID in the name. The lock is not held in two short windows: between
//     creating the file and locking it, and between Commit's close and its
//     rename. A temporary file whose PID names a live process (kill(pid, 0)
//     succeeds or fails with EPERM; /proc/PID where kill is not allowed) is
//     therefore always kept, locked or not. PID reuse can only make a stale
//     file be kept longer, until the process that reused the PID ends.
//
// A file is removed only when both say so: its lock could be taken and its PID
// names no process. In the first window a cleaner in another PID namespace
// (where the writer's PID looks dead) can take the lock first; CreateAtomic
// then sees its new file gone or locked and retries with another name. Only
// Commit's close-to-rename window stays unprotected across PID namespaces.
// Files in the older format, without a PID, are never touched.

// tempName is the name of an AtomicFile's temporary file for the final name
// base: ".BASE.PID-RANDOM.tmp".
func tempName(base string, pid int, r uint64) string {
	return fmt.Sprintf(".%s.%d-%016x.tmp", base, pid, r)
}

// parseTempName returns the PID of a temporary file name made by tempName.
func parseTempName(name string) (pid int, ok bool) {
	if !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".tmp") {
		return 0, false
	}
	rest := strings.TrimSuffix(name, ".tmp")
	dot := strings.LastIndexByte(rest, '.')
	if dot <= 1 { // ".x.tmp": no base
		return 0, false
	}
	pidPart, randPart, found := strings.Cut(rest[dot+1:], "-")
	if !found || len(randPart) != 16 || len(pidPart) == 0 || len(pidPart) > 10 {
		return 0, false
	}
	if _, err := strconv.ParseUint(randPart, 16, 64); err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(pidPart)
	if err != nil || pid <= 0 || pidPart[0] == '0' || pidPart[0] == '+' {
		return 0, false
	}
	return pid, true
}

// lockTemp takes the writer's lock on the new temporary file tmp (open as
// fd) and checks that tmp still names it. It reports false if a cleaner got
// there first (the lock is held, or the name is gone or another file's). A
// file system without flock is not an error: the PID then protects the file.
func lockTemp(x Io, d Dir, tmp string, fd int) bool {
	busy, err := tryLock(fd)
	if busy {
		return false
	}
	if err != nil {
		return true
	}
	// Not a cancel point: a canceled creator must still tell its own file
	// from another's, or it would leave the file it made behind.
	x = x.WithoutCancel()
	mine, err1 := x.drv().fstat(x.t, fd)
	named, err2 := x.drv().fstatat(x.t, d.fd, tmp, false)
	switch {
	case err1 != nil:
		return true
	case err2 != nil:
		return !errors.Is(err2, fs.ErrNotExist) // gone: a cleaner took it
	}
	return named.Inode == mine.Inode
}

// RemoveStaleTemps removes the temporary files that writers of AtomicFiles
// (CreateAtomic, WriteFile) killed before Commit or Close left in d, and
// returns how many it removed. It never removes a live writer's file, in this
// process or another: see the comment on the scheme in stale.go; in short, a
// file is removed only if its writer's lock can be taken and the PID in its
// name belongs to no process. It looks at files of this package's naming only,
// in d and, for depth > 0, in its subfolders down to depth levels, never
// through a symbolic link. An error (a folder unreadable, a file that cannot
// be removed) does not stop it; the first is returned with the count of files
// removed. It is a cancel point between folders and batches of names.
func (d Dir) RemoveStaleTemps(x Io, depth int) (int, error) {
	name := d.join(".")
	dfd, err := x.drv().openat(x.t, d.fd, ".", oRDONLY|oDIRECTORY, 0)
	if err != nil {
		return 0, opErr("remove stale temps", name, err)
	}
	f := os.NewFile(uintptr(dfd), name)
	defer f.Close()
	removed := 0
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for {
		if err := x.CheckCancel(); err != nil {
			return removed, opErr("remove stale temps", name, err)
		}
		ents, err := f.ReadDir(256)
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() {
				if depth <= 0 {
					continue
				}
				sfd, err := x.drv().openat(x.t, d.fd, n, oRDONLY|oDIRECTORY|oNOFOLLOW, 0)
				if err != nil {
					if err != syscall.ENOENT && err != syscall.ELOOP && err != syscall.ENOTDIR {
						note(opErr("remove stale temps", d.join(n), err))
					}
					continue
				}
				sub := Dir{fd: sfd, name: d.join(n)}
				k, err := sub.RemoveStaleTemps(x, depth-1)
				removed += k
				note(err)
				_ = x.drv().closeFd(x.t, sfd)
				continue
			}
			ok, err := d.removeIfStale(x, n)
			if ok {
				removed++
			}
			note(err)
		}
		if err != nil {
			if !errors.Is(err, stdio.EOF) {
				note(opErr("remove stale temps", name, err))
			}
			break
		}
	}
	return removed, first
}

// removeIfStale removes the file n of d if it is a stale temporary file.
func (d Dir) removeIfStale(x Io, n string) (bool, error) {
	pid, ok := parseTempName(n)
	if !ok || pid == os.Getpid() || processAlive(pid) {
		return false, nil
	}
	fd, err := x.drv().openat(x.t, d.fd, n, oRDONLY|oNOFOLLOW|oNONBLOCK, 0)
	if err != nil {
		if err == syscall.ENOENT || err == syscall.ELOOP {
			return false, nil // gone meanwhile, or a symbolic link: not ours
		}
		return false, opErr("remove stale temp", d.join(n), err)
	}
	defer x.drv().closeFd(x.t, fd)
	fi, err := x.drv().fstat(x.t, fd)
	if err != nil || !fi.Mode.IsRegular() {
		return false, nil
	}
	if busy, _ := tryLock(fd); busy {
		return false, nil // a live writer holds it
	}
	// Locked, or a file system without flock, where the PID has spoken.
	// Remove the name if it is still this file.
	if named, err := x.drv().fstatat(x.t, d.fd, n, false); err != nil || named.Inode != fi.Inode {
		return false, nil
	}
	start := x.start()
	if err := x.doneAt(start, "remove", d, n, x.drv().unlinkat(x.t, d.fd, n, false)); err != nil {
		return false, err
	}
	return true, nil
}
