package demo_test

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"slices"
	"testing"

	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/npy"
	"github.com/vkio/vkio/tasks"
)

// The PNG encoder round-trips a CPU-rendered Julia frame, appending to dst,
// and rejects a frame of the wrong size.
func TestPNGEncoder(t *testing.T) {
	x := io.NewBlocking().Io()
	const w, h = 24, 16
	raw := demo.JuliaCPU(demo.JuliaZoom(w, h, 7, 100), nil)
	if len(raw) != 4*w*h {
		t.Fatalf("JuliaCPU: %d bytes", len(raw))
	}
	e := &demo.PNGEncoder{Width: w, Height: h, Level: png.BestSpeed}
	out, err := e.Encode(x, 7, raw, []byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("Encode did not append to dst")
	}
	img, err := png.Decode(bytes.NewReader(out[len("prefix"):]))
	if err != nil {
		t.Fatal(err)
	}
	rgba, ok := img.(*image.NRGBA)
	var pix []byte
	if ok {
		pix = rgba.Pix
	} else if r, ok := img.(*image.RGBA); ok {
		pix = r.Pix
	} else {
		t.Fatalf("decoded %T", img)
	}
	if !bytes.Equal(pix, raw) {
		t.Fatalf("decoded pixels differ from the frame")
	}
	if _, err := e.Encode(x, 0, raw[:len(raw)-4], nil); !errors.Is(err, tasks.ErrInvalid) {
		t.Fatalf("short frame: %v", err)
	}
}

// The .npy encoder writes a file npy.Read parses back to the frame, shape
// (H, W, 4) of uint8, appending to dst, and rejects a frame of the wrong
// size.
func TestNPYEncoder(t *testing.T) {
	x := io.NewBlocking().Io()
	const w, h = 24, 16
	raw := demo.JuliaCPU(demo.JuliaZoom(w, h, 7, 100), nil)
	e := &demo.NPYEncoder{Width: w, Height: h}
	for range 2 { // the header is made once, then reused
		out, err := e.Encode(x, 7, raw, []byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("Encode did not append to dst")
		}
		a, err := npy.Read(out[len("prefix"):])
		if err != nil {
			t.Fatal(err)
		}
		if a.Descr != "|u1" || !slices.Equal(a.Shape, []int64{h, w, 4}) || !bytes.Equal(a.Data, raw) {
			t.Fatalf("read back %s shape %v, %d bytes (equal %v)", a.Descr, a.Shape, len(a.Data), bytes.Equal(a.Data, raw))
		}
		if (len(out)-len("prefix")-len(raw))%64 != 0 {
			t.Fatalf("header of %d bytes: not a multiple of 64", len(out)-len("prefix")-len(raw))
		}
	}
	if _, err := e.Encode(x, 0, raw[:len(raw)-4], nil); !errors.Is(err, tasks.ErrInvalid) {
		t.Fatalf("short frame: %v", err)
	}
}

// The fast PNG encoder round-trips opaque frames (written as RGB) and
// translucent ones (RGBA) through image/png's decoder, appending to dst,
// and rejects a frame of the wrong size.
func TestFastPNGEncoder(t *testing.T) {
	x := io.NewBlocking().Io()
	const w, h = 37, 19
	opaque := demo.JuliaCPU(demo.JuliaZoom(w, h, 7, 100), nil)
	translucent := slices.Clone(opaque)
	for i := 3; i < len(translucent); i += 4 * 5 {
		translucent[i] = byte(i)
	}
	e := &demo.FastPNGEncoder{Width: w, Height: h}
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"opaque", opaque}, {"translucent", translucent}, {"opaque again", opaque}} {
		out, err := e.Encode(x, 7, c.raw, []byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("%s: Encode did not append to dst", c.name)
		}
		img, err := png.Decode(bytes.NewReader(out[len("prefix"):]))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Fatalf("%s: %v", c.name, b)
		}
		var pix []byte
		switch m := img.(type) {
		case *image.RGBA: // opaque: RGB in the file
			pix = m.Pix
		case *image.NRGBA: // with alpha: not premultiplied, as the frame
			pix = m.Pix
		default:
			t.Fatalf("%s: decoded %T", c.name, img)
		}
		if !bytes.Equal(pix, c.raw) {
			t.Fatalf("%s: decoded pixels differ from the frame", c.name)
		}
	}
	if _, err := e.Encode(x, 0, opaque[:len(opaque)-4], nil); !errors.Is(err, tasks.ErrInvalid) {
		t.Fatalf("short frame: %v", err)
	}
}
