//go:build linux || darwin || freebsd || netbsd || openbsd

package io

import (
	"bytes"
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The layout of the records getdents returns: struct dirent of the system,
// whose reclen, type and name fields sit at the same offsets as in
// unix.Dirent.
var (
	direntReclen = int(unsafe.Offsetof(unix.Dirent{}.Reclen))
	direntType   = int(unsafe.Offsetof(unix.Dirent{}.Type))
	direntName   = int(unsafe.Offsetof(unix.Dirent{}.Name))
)

// parseDirent returns the first record of buf: its length, its d_type and
// its name (a slice of buf). A malformed record (its length past buf, or
// too short for a name) is reported with reclen = len(buf), so that the
// caller stops, and a nil name.
func parseDirent(buf []byte) (reclen int, typ uint8, name []byte) {
	if len(buf) < direntName {
		return len(buf), 0, nil
	}
	reclen = int(binary.NativeEndian.Uint16(buf[direntReclen:]))
	if reclen <= direntName || reclen > len(buf) {
		return len(buf), 0, nil
	}
	name = buf[direntName:reclen]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return reclen, buf[direntType], name
}
