package shaders

import (
	"encoding/binary"
	"sort"
	"testing"
)

func TestEmbeddedSPIRV(t *testing.T) {
	for name, spv := range All() {
		if len(spv) < 20 || len(spv)%4 != 0 {
			t.Fatalf("%s: %d bytes is not a SPIR-V module", name, len(spv))
		}
		if m := binary.LittleEndian.Uint32(spv); m != 0x07230203 {
			t.Fatalf("%s: magic %#x", name, m)
		}
	}
}

// TestNames: Names lists exactly All's keys, sorted.
func TestNames(t *testing.T) {
	names := Names()
	if !sort.StringsAreSorted(names) || len(names) != len(All()) {
		t.Fatalf("Names() = %v", names)
	}
	for _, n := range names {
		if _, ok := All()[n]; !ok {
			t.Errorf("Names() has %q, All() does not", n)
		}
	}
}
