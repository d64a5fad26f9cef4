//go:build !linux

package io

// openat2 is Linux-only: elsewhere the walk does every confined open.
func (x Io) openat2(dir int, p string, flags int, perm uint32) (int, error) {
	return -1, errNoOpenat2
}
