package devset_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/devset"
)

func TestParseDevices(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"all", nil},
		{" ALL ", nil},
		{"0", []string{"0"}},
		{"0,0", []string{"0", "0"}},
		{" 0 , 1,0 ", []string{"0", "1", "0"}},
		{"llvmpipe,0", []string{"llvmpipe", "0"}},
		{"NVIDIA H200", []string{"NVIDIA H200"}},
	} {
		got, err := devset.ParseDevices(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseDevices(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{
		",", "0,", ",0", "0,,1", "all,0", "0,all", "-1", "+1", "0,\x00", "a\tb",
		"\xff", strings.Repeat("a", 257), strings.Repeat("0,", devset.MaxMembers) + "0",
	} {
		got, err := devset.ParseDevices(in)
		var de *devset.Error
		if !errors.As(err, &de) || !errors.Is(err, gpu.ErrInvalid) {
			t.Errorf("ParseDevices(%q) = %q, %v; want a devset.Error matching gpu.ErrInvalid", in, got, err)
		}
	}
	if got, err := devset.ParseDevices(strings.Repeat("0,", devset.MaxMembers-1) + "0"); err != nil || len(got) != devset.MaxMembers {
		t.Errorf("MaxMembers entries: %d, %v", len(got), err)
	}
}

func FuzzParseDevices(f *testing.F) {
	for _, s := range []string{"", "all", "0", "0,0", " 0 , 1 ", "llvmpipe", "0,,1", "all,0", "-1", "\xff", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := devset.ParseDevices(spec)
		if err != nil {
			if !errors.Is(err, gpu.ErrInvalid) || got != nil {
				t.Fatalf("error %v with result %q", err, got)
			}
			return
		}
		if len(got) > devset.MaxMembers {
			t.Fatalf("%d entries", len(got))
		}
		for _, e := range got {
			if e == "" || e != strings.TrimSpace(e) || strings.Contains(e, ",") || len(e) > 256 ||
				strings.EqualFold(e, "all") || !utf8.ValidString(e) {
				t.Fatalf("bad entry %q in %q", e, got)
			}
		}
		// The entries joined back parse to themselves.
		if len(got) > 0 {
			again, err := devset.ParseDevices(strings.Join(got, ","))
			if err != nil || !slices.Equal(again, got) {
				t.Fatalf("round trip of %q: %q, %v", got, again, err)
			}
		}
	})
}
