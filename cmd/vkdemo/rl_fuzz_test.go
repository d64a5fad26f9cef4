package main

import (
	"errors"
	"testing"

	"github.com/vkio/vkio/rl"
)

// FuzzRLFlagValues feeds the rl commands' value parsers (--hidden, --env,
// --activation, --autoreset) arbitrary text: no panic, every failure a
// usage error, and every accepted --hidden within the shaders' limits.
func FuzzRLFlagValues(f *testing.F) {
	for _, s := range []string{"32", "32,32", "", "none", "64,64,64", "0", "65", "1, 2", "-1", "9999999999999999999999", "cartpole",
		"CartPole-v1", "mountaincarcontinuous", "tanh", "ReLU", "next-step", "same", "\x00", "32,,32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		isUsage := func(err error) bool {
			var ue usageError
			return err == nil || errors.As(err, &ue)
		}
		h, err := parseHidden(s)
		if !isUsage(err) {
			t.Fatalf("parseHidden(%q): %v is not a usage error", s, err)
		}
		if err == nil {
			if len(h) > rl.MaxLayers {
				t.Fatalf("parseHidden(%q) = %v: more than %d layers", s, h, rl.MaxLayers)
			}
			for _, n := range h {
				if n < 1 || n > rl.MaxHidden {
					t.Fatalf("parseHidden(%q) = %v", s, h)
				}
			}
		}
		if id, err := parseRLEnv("--env", s); !isUsage(err) || (err == nil && id == "") {
			t.Fatalf("parseRLEnv(%q) = %q, %v", s, id, err)
		} else if err == nil {
			if _, lerr := rl.Lookup(id); lerr != nil {
				t.Fatalf("parseRLEnv(%q) = %q, unknown to rl.Lookup: %v", s, id, lerr)
			}
		}
		if _, err := parseActivation(s); !isUsage(err) {
			t.Fatalf("parseActivation(%q): %v", s, err)
		}
		if _, err := parseAutoreset(s); !isUsage(err) {
			t.Fatalf("parseAutoreset(%q): %v", s, err)
		}
	})
}
