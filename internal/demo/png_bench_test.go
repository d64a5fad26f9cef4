package demo_test

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// pngLevels are the compression levels BenchmarkPNGLevels and
// TestPNGLevelsRoundTrip compare, by their vkdemo --png-level names.
var pngLevels = []struct {
	name  string
	level png.CompressionLevel
}{
	{"none", png.NoCompression},
	{"speed", png.BestSpeed},
	{"default", png.DefaultCompression},
	{"best", png.BestCompression},
}

// Every level round-trips a Julia frame exactly.
func TestPNGLevelsRoundTrip(t *testing.T) {
	x := io.NewBlocking().Io()
	const w, h = 64, 48
	raw := demo.JuliaCPU(demo.JuliaZoom(w, h, 30, 200), nil)
	for _, l := range pngLevels {
		e := &demo.PNGEncoder{Width: w, Height: h, Level: l.level}
		out, err := e.Encode(x, 30, raw, nil)
		if err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: decode: %v", l.name, err)
		}
		got := image.NewRGBA(img.Bounds())
		for y := range h {
			for x := range w {
				got.Set(x, y, img.At(x, y))
			}
		}
		if !bytes.Equal(got.Pix, raw) {
			t.Fatalf("%s: the decoded frame differs from the raw one", l.name)
		}
	}
}

// BenchmarkPNGLevels encodes the demo's 512x512 Julia frames (vkdemo
// pipeline's defaults: --iter 400, frames 0, 50 and 100 of the zoom) at each
// compression level, reporting the time and the PNG bytes per frame.
//
//	go test -run '^$' -bench PNGLevels -benchtime 20x ./internal/demo/
func BenchmarkPNGLevels(b *testing.B) {
	x := io.NewBlocking().Io()
	const side = 512
	var frames [][]byte
	for _, k := range []int{0, 50, 100} {
		frames = append(frames, demo.JuliaCPU(demo.JuliaZoom(side, side, k, 400), nil))
	}
	for _, l := range pngLevels {
		b.Run(l.name, func(b *testing.B) {
			e := &demo.PNGEncoder{Width: side, Height: side, Level: l.level}
			var dst []byte
			var total int64
			b.SetBytes(4 * side * side)
			i := 0
			for b.Loop() {
				out, err := e.Encode(x, i, frames[i%len(frames)], dst[:0])
				if err != nil {
					b.Fatal(err)
				}
				dst = out
				total += int64(len(out))
				i++
			}
			b.ReportMetric(float64(total)/float64(i), "pngB/frame")
		})
	}
}

// BenchmarkFrameFormats is what each vkdemo pipeline --format costs a
// 512x512 demo frame on the host: the encode stage (none for raw, which
// saves the read-back as it is) and the atomic save of the result into a
// temporary folder (temporary file, write, fsync, rename, as DirSink does),
// with the bytes written per frame.
//
//	go test -run '^$' -bench FrameFormats -benchtime 20x -count 3 ./internal/demo/
func BenchmarkFrameFormats(b *testing.B) {
	x := io.NewBlocking().Io()
	const side = 512
	var frames [][]byte
	for _, k := range []int{0, 50, 100} {
		frames = append(frames, demo.JuliaCPU(demo.JuliaZoom(side, side, k, 400), nil))
	}
	formats := []struct {
		name string
		enc  tasks.Encoder // nil: the raw bytes
	}{
		{"png-speed", &demo.PNGEncoder{Width: side, Height: side, Level: png.BestSpeed}},
		{"png-fast", &demo.FastPNGEncoder{Width: side, Height: side}},
		{"png-none", &demo.PNGEncoder{Width: side, Height: side, Level: png.NoCompression}},
		{"npy", &demo.NPYEncoder{Width: side, Height: side}},
		{"raw", nil},
	}
	for _, f := range formats {
		for _, stage := range []string{"encode", "encode+save"} {
			b.Run(f.name+"/"+stage, func(b *testing.B) {
				dir, err := io.Cwd().OpenDir(x, b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer dir.Close(x)
				sink := &tasks.DirSink{Dir: dir, Pattern: "frame-%04d." + f.name}
				var dst []byte
				var total int64
				b.SetBytes(4 * side * side)
				i := 0
				for b.Loop() {
					data := frames[i%len(frames)]
					if f.enc != nil {
						out, err := f.enc.Encode(x, i, data, dst[:0])
						if err != nil {
							b.Fatal(err)
						}
						dst, data = out, out
					}
					if stage == "encode+save" {
						if err := sink.Save(x, i%8, data); err != nil {
							b.Fatal(err)
						}
					}
					total += int64(len(data))
					i++
				}
				b.ReportMetric(float64(total)/float64(i), "fileB/frame")
			})
		}
	}
}
