//go:build unix

package io

import "golang.org/x/sys/unix"

// Open flags, named once for every system (see consts_windows.go).
const (
	oRDONLY    = unix.O_RDONLY
	oWRONLY    = unix.O_WRONLY
	oRDWR      = unix.O_RDWR
	oCREAT     = unix.O_CREAT
	oEXCL      = unix.O_EXCL
	oTRUNC     = unix.O_TRUNC
	oDIRECTORY = unix.O_DIRECTORY
	oNOFOLLOW  = unix.O_NOFOLLOW
	oNONBLOCK  = unix.O_NONBLOCK
)
