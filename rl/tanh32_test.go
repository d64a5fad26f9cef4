package rl

import (
	"math"
	"testing"
)

// TestTanh32 bounds tanh32's error against math.Tanh over a dense grid of
// [-12, 12] and checks its special values.
func TestTanh32(t *testing.T) {
	worstAbs, worstUlp := 0.0, 0.0
	for i := -1200000; i <= 1200000; i++ {
		x := float32(float64(i) * 1e-5)
		got := float64(tanh32(x))
		want := math.Tanh(float64(x))
		d := math.Abs(got - want)
		worstAbs = max(worstAbs, d)
		ulp := float64(math.Nextafter32(float32(math.Abs(want)), 2) - float32(math.Abs(want)))
		if want != 0 {
			worstUlp = max(worstUlp, d/ulp)
		}
		if tanh32(-x) != -tanh32(x) {
			t.Fatalf("tanh32 is not odd at %v", x)
		}
		if got > 1 || got < -1 {
			t.Fatalf("tanh32(%v) = %v", x, got)
		}
	}
	t.Logf("worst error %.3g absolute, %.2f float32 ulp", worstAbs, worstUlp)
	if worstAbs > 6e-8 || worstUlp > 3 {
		t.Errorf("tanh32 error %.3g absolute, %.2f ulp", worstAbs, worstUlp)
	}
	for x, want := range map[float32]float32{0: 0, 1e-5: 1e-5, 9.1: 1, -9.1: -1, 100: 1, float32(math.Inf(1)): 1, float32(math.Inf(-1)): -1, 8: float32(math.Tanh(8))} {
		if got := tanh32(x); got != want {
			t.Errorf("tanh32(%v) = %v, want %v", x, got, want)
		}
	}
	if math.Abs(float64(tanh32(20))-1) > 1e-7 {
		t.Errorf("tanh32(20) = %v", tanh32(20))
	}
	if nan := tanh32(float32(math.NaN())); nan == nan {
		t.Error("tanh32(NaN) is not NaN")
	}
}

func BenchmarkTanh32(b *testing.B) {
	xs := make([]float32, 1024)
	for i := range xs {
		xs[i] = float32(math.Sin(float64(i))) * 3
	}
	b.Run("tanh32", func(b *testing.B) {
		var acc float32
		for i := 0; i < b.N; i++ {
			acc += tanh32(xs[i&1023])
		}
		sinkF = acc
	})
	b.Run("math.Tanh", func(b *testing.B) {
		var acc float32
		for i := 0; i < b.N; i++ {
			acc += float32(math.Tanh(float64(xs[i&1023])))
		}
		sinkF = acc
	})
}

var sinkF float32
