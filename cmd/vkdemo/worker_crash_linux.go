package main

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// crashForTest makes the process die of SIGSEGV as a driver crash would:
// the Go runtime ignores a SIGSEGV sent by kill, so the signal's action is
// reset to the default first. Reached only with workerCrashEnv set.
func crashForTest() {
	var sa struct {
		handler  uintptr // SIG_DFL
		flags    uint64
		restorer uintptr
		mask     uint64
	}
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGSEGV), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
	_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
	time.Sleep(time.Second)
	os.Exit(139)
}
