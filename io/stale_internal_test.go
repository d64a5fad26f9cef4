package io

import (
	"strings"
	"testing"
)

// FuzzParseTempName checks the parser of directory entry names that
// RemoveStaleTemps applies to every file of a folder: it accepts exactly the
// names tempName makes, and what it accepts names a positive PID.
func FuzzParseTempName(f *testing.F) {
	for _, s := range []string{
		tempName("frame-0001.png", 4242, 0x0123456789abcdef),
		tempName("a.b.c", 1, 0),
		".frame-0001.png.0123456789abcdef.tmp", // the older format
		".x.0-0123456789abcdef.tmp",
		".x.-1-0123456789abcdef.tmp",
		".x.+5-0123456789abcdef.tmp",
		".x.007-0123456789abcdef.tmp",
		".x.99999999999-0123456789abcdef.tmp",
		".12-0123456789abcdef.tmp",
		"..12-0123456789abcdef.tmp",
		".x.12-0123456789abcdeg.tmp",
		".x.12-0123456789abcdef0.tmp",
		"frame.png", "", ".tmp", "..tmp",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		pid, ok := parseTempName(name)
		if !ok {
			return
		}
		if pid <= 0 {
			t.Fatalf("parseTempName(%q) accepted PID %d", name, pid)
		}
		// Accepted: it is tempName of its parts.
		rest := strings.TrimSuffix(strings.TrimPrefix(name, "."), ".tmp")
		dot := strings.LastIndexByte(rest, '.')
		base, tail := rest[:dot], rest[dot+1:]
		_, hex, _ := strings.Cut(tail, "-")
		var r uint64
		for _, c := range hex {
			r <<= 4
			switch {
			case c >= '0' && c <= '9':
				r |= uint64(c - '0')
			case c >= 'a' && c <= 'f':
				r |= uint64(c-'a') + 10
			case c >= 'A' && c <= 'F':
				r |= uint64(c-'A') + 10
			}
		}
		if again := tempName(base, pid, r); !strings.EqualFold(again, name) {
			t.Fatalf("parseTempName(%q) = %d, but tempName of its parts is %q", name, pid, again)
		}
	})
}
