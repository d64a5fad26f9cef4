package gpu

import (
	"fmt"
	"testing"
)

// BenchmarkReflect measures reflection per KiB of module, from 1 KiB to
// 1 MiB, for the worst nesting (30-member structs nested as deep as the
// size allows, every member at offset 0 so that the module is accepted and
// every type is sized) and for a flat module of many bindings. Linear
// reflection shows a flat ns/KiB across sizes.
func BenchmarkReflect(b *testing.B) {
	shapes := []struct {
		name string
		gen  func(n int) []byte
	}{
		{"nested", func(n int) []byte { return nestedModule(n, 30, false) }},
		{"flat", flatModule},
	}
	for _, shape := range shapes {
		for _, kib := range []int{1, 16, 256, 1024} {
			spv := sized(kib<<10, shape.gen)
			if _, err := Reflect(spv); err != nil {
				b.Fatalf("%s %d KiB: %v", shape.name, kib, err)
			}
			b.Run(fmt.Sprintf("%s/%dKiB", shape.name, kib), func(b *testing.B) {
				b.SetBytes(int64(len(spv)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := Reflect(spv); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(len(spv))/1024), "ns/KiB")
			})
		}
	}
}
