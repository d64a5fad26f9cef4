//go:build unix

package iotest

import (
	"os"
	"syscall"
)

// tryFlock takes an exclusive flock(2) on f without waiting.
func tryFlock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
