//go:build unix && !linux

package io

import (
	"time"

	"golang.org/x/sys/unix"
)

// utimensat without UTIME_OMIT, whose value differs between these systems:
// a zero time is filled in from the file's own (a stat first).
func (sysDriver) utimensat(t *task, dir int, path string, atime, mtime time.Time, follow bool) error {
	if t.isCanceled() {
		return t.err()
	}
	if atime.IsZero() || mtime.IsZero() {
		var st unix.Stat_t
		var err error
		if path == "" {
			err = unix.Fstat(dir, &st)
		} else {
			flags := 0
			if !follow {
				flags = unix.AT_SYMLINK_NOFOLLOW
			}
			err = unix.Fstatat(dir, path, &st, flags)
		}
		if err != nil {
			return err
		}
		if atime.IsZero() {
			atime = time.Unix(int64(st.Atim.Sec), int64(st.Atim.Nsec))
		}
		if mtime.IsZero() {
			mtime = time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec))
		}
	}
	if path == "" { // microseconds: the portable call on a descriptor
		tv := []unix.Timeval{unix.NsecToTimeval(atime.UnixNano()), unix.NsecToTimeval(mtime.UnixNano())}
		return retry(func() error { return unix.Futimes(dir, tv) })
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	flags := 0
	if !follow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	return retry(func() error { return unix.UtimesNanoAt(dir, path, ts, flags) })
}
