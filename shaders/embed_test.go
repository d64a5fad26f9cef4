package shaders

import (
	"encoding/binary"
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
