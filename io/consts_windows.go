//go:build windows

package io

import "syscall"

// Open flags, named once for every system (see consts_unix.go); on Windows
// they only reach the driver's refusal (sys_windows.go).
const (
	oRDONLY    = syscall.O_RDONLY
	oWRONLY    = syscall.O_WRONLY
	oRDWR      = syscall.O_RDWR
	oCREAT     = syscall.O_CREAT
	oEXCL      = syscall.O_EXCL
	oTRUNC     = syscall.O_TRUNC
	oDIRECTORY = 0x100000
	oNOFOLLOW  = 0x20000
	oNONBLOCK  = syscall.O_NONBLOCK
)
