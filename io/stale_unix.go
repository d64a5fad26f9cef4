//go:build unix

package io

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// processAlive reports whether a process with this PID exists (as far as
// this PID namespace can tell). When in doubt it says yes.
func processAlive(pid int) bool {
	if pid <= 0 {
		return true // kill(0) and kill(-1) signal groups: never ask
	}
	switch err := unix.Kill(pid, 0); err {
	case nil, unix.EPERM:
		return true
	case unix.ESRCH:
		return false
	}
	// kill refused for another reason (a sandbox): ask /proc.
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil || !os.IsNotExist(err)
}

// tryLock takes an exclusive flock(2) on fd without waiting. busy reports
// that another open file description holds it; err, that the file system
// cannot lock (the caller then relies on the PID alone).
func tryLock(fd int) (busy bool, err error) {
	err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	return err == unix.EWOULDBLOCK, err
}
