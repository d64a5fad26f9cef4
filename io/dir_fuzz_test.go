package io

import (
	"bytes"
	"testing"
)

// FuzzParseDirent feeds parseDirent arbitrary record buffers (a getdents
// result the reader trusts to be well formed, but which must not make it
// loop or read out of bounds): every call makes progress within the
// buffer and returns a name inside the record.
func FuzzParseDirent(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 24))
	// A Linux dirent64 of "a": ino, off, reclen 24, DT_REG, "a\x00".
	rec := []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 24, 0, 8, 'a', 0, 0, 0, 0}
	f.Add(rec)
	f.Add(append(bytes.Clone(rec), rec...))
	f.Add(append(bytes.Clone(rec[:16]), 0xff, 0xff, 4, 'x'))
	f.Fuzz(func(t *testing.T, buf []byte) {
		for pos, steps := 0, 0; pos < len(buf); steps++ {
			reclen, _, name := parseDirent(buf[pos:])
			if reclen <= 0 || reclen > len(buf)-pos {
				t.Fatalf("record length %d at %d of %d bytes", reclen, pos, len(buf))
			}
			if len(name) > reclen || bytes.IndexByte(name, 0) >= 0 {
				t.Fatalf("name %q of a %d-byte record", name, reclen)
			}
			pos += reclen
			if steps > len(buf) {
				t.Fatal("no progress")
			}
		}
	})
}
