package io

import (
	"errors"
	"path"
	"strings"
	"testing"
)

// FuzzBeneathPath checks the lexical half of confined opens on paths from
// outside: an accepted path yields plain components (no "", ".", "..", '/'
// or NUL) whose join names the same place; a refused one is ErrOutside
// exactly when it is absolute or has a ".." component.
func FuzzBeneathPath(f *testing.F) {
	for _, s := range []string{"a/b/c", "", ".", "..", "/", "/etc/passwd", "a/../b", "a//./b/", "./a", "a/..", "...", "..a/b..", "a\x00b", strings.Repeat("a/", 2100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		comps, err := beneathComps(p)
		dotdot := false
		for _, c := range strings.Split(p, "/") {
			dotdot = dotdot || c == ".."
		}
		if err != nil {
			outside := errors.Is(err, ErrOutside)
			invalid := errors.Is(err, ErrInvalid)
			if outside == invalid {
				t.Fatalf("%q: %v is neither or both of ErrOutside and ErrInvalid", p, err)
			}
			if outside && !strings.HasPrefix(p, "/") && !dotdot {
				t.Fatalf("%q refused as outside: %v", p, err)
			}
			return
		}
		if strings.HasPrefix(p, "/") || dotdot || p == "" || len(p) > maxBeneathPath || strings.IndexByte(p, 0) >= 0 {
			t.Fatalf("%q accepted", p)
		}
		for _, c := range comps {
			if c == "" || c == "." || c == ".." || strings.ContainsAny(c, "/\x00") {
				t.Fatalf("%q: component %q", p, c)
			}
		}
		got := strings.Join(comps, "/")
		if got == "" {
			got = "."
		}
		if want := path.Clean(p); got != want {
			t.Fatalf("%q: components %q, want %q", p, got, want)
		}
	})
}
