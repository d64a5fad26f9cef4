// Package xvfb starts a private Xvfb X server and takes screenshots of it,
// for tests of windows: the window tests of package window and of the
// vkdemo CLI run against it. It needs the Xvfb and xwd programs (Debian
// packages xvfb and x11-apps; scripts/deps.sh installs them), and links no
// X11 library itself.
package xvfb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"strings"
	"time"
)

// ErrUnavailable reports that no Xvfb server could be started.
var ErrUnavailable = errors.New("xvfb: cannot start an X server")

// Server is a running Xvfb.
type Server struct {
	// Display is the X display name, e.g. ":99".
	Display string
	cmd     *exec.Cmd
	done    chan struct{}
}

// Start starts Xvfb with one screen of width×height at 24 bits per pixel
// on a free display number (Xvfb picks it: -displayfd), and waits until it
// accepts connections.
func Start(width, height int) (*Server, error) {
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(path, "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", width, height),
		"-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	w.Close()
	s := &Server{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if l == "" {
			s.Stop()
			return nil, fmt.Errorf("%w: Xvfb reported no display: %s", ErrUnavailable, strings.TrimSpace(stderr.String()))
		}
		s.Display = ":" + l
	case <-time.After(20 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("%w: Xvfb did not start within 20 s", ErrUnavailable)
	}
	return s, nil
}

// Stop terminates the server and waits for it to exit.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Screenshot captures the whole screen with xwd -root.
func (s *Server) Screenshot() (*image.RGBA, error) {
	out, err := exec.Command("xwd", "-root", "-silent", "-display", s.Display).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("xwd: %v: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("xwd: %w", err)
	}
	return DecodeXWD(out)
}

// DecodeXWD decodes an X Window Dump of a TrueColor (or DirectColor)
// visual with 24 or 32 bits per pixel, as `xwd` writes it: a big-endian
// header of 25 32-bit fields, the window name, the colormap (12 bytes an
// entry), then the pixels in the server's byte order.
func DecodeXWD(data []byte) (*image.RGBA, error) {
	const nfields = 25
	if len(data) < 4*nfields {
		return nil, errors.New("xwd: short header")
	}
	f := func(i int) uint32 { return binary.BigEndian.Uint32(data[4*i:]) }
	headerSize, version, format := f(0), f(1), f(2)
	width, height := int(f(4)), int(f(5))
	byteOrder, bpp, bpl := f(7), int(f(11)), int(f(12))
	visual := f(13)
	masks := [3]uint32{f(14), f(15), f(16)}
	ncolors := int(f(19))
	switch {
	case version != 7:
		return nil, fmt.Errorf("xwd: file version %d, want 7", version)
	case format != 2:
		return nil, fmt.Errorf("xwd: pixmap format %d, want ZPixmap (2)", format)
	case visual != 4 && visual != 5:
		return nil, fmt.Errorf("xwd: visual class %d, want TrueColor or DirectColor", visual)
	case bpp != 32 && bpp != 24:
		return nil, fmt.Errorf("xwd: %d bits per pixel, want 24 or 32", bpp)
	case width <= 0 || height <= 0 || bpl < width*bpp/8:
		return nil, fmt.Errorf("xwd: bad geometry %dx%d, %d bytes per line", width, height, bpl)
	}
	off := int(headerSize) + 12*ncolors
	if off < 0 || len(data) < off+bpl*height {
		return nil, fmt.Errorf("xwd: %d bytes, need %d", len(data), off+bpl*height)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if byteOrder == 1 {
		order = binary.BigEndian
	}
	extract := func(v, mask uint32) uint8 {
		if mask == 0 {
			return 0
		}
		shift := 0
		for mask&1 == 0 {
			mask >>= 1
			shift++
		}
		x := (v >> shift) & mask
		if mask != 0xff {
			x = x * 255 / mask
		}
		return uint8(x)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	bytesPP := bpp / 8
	for y := 0; y < height; y++ {
		row := data[off+y*bpl:]
		for x := 0; x < width; x++ {
			p := row[x*bytesPP:]
			var v uint32
			if bytesPP == 4 {
				v = order.Uint32(p)
			} else if byteOrder == 1 {
				v = uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
			} else {
				v = uint32(p[2])<<16 | uint32(p[1])<<8 | uint32(p[0])
			}
			img.SetRGBA(x, y, color.RGBA{extract(v, masks[0]), extract(v, masks[1]), extract(v, masks[2]), 255})
		}
	}
	return img, nil
}
