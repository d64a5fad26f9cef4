//go:build !nowindow

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRLRenderWindow runs `rl render --window` on Xvfb with the validation
// layer on, steps it to a frame with the n key, and checks that the screen
// shows exactly the PNG that frame was saved as; q quits with status 0 and
// nothing on stderr.
func TestRLRenderWindow(t *testing.T) {
	srv := startXvfb(t)
	dir := t.TempDir()
	cmd := exec.Command(vkdemoBin, "rl", "render", "--window", "--control-stdin", "--env", "cartpole", "--envs", "4",
		"--cell", "60x40", "--frames", "0", "--out", "o")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1", "DISPLAY="+srv.Display)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	expect := func(prefix string) string {
		t.Helper()
		for l := range lines {
			seen = append(seen, l)
			if strings.HasPrefix(l, "rl render: "+prefix) {
				return l
			}
		}
		t.Fatalf("exited before %q; output %q; stderr:\n%s", prefix, seen, stderr.String())
		return ""
	}
	send := func(s string) {
		if _, err := in.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	send("n")
	var frame int
	if _, err := fmt.Sscanf(strings.TrimPrefix(expect("frame "), "rl render: "), "frame %d", &frame); err != nil {
		t.Fatal(err)
	}
	// The frame's PNG is saved by a task of its own: wait for it.
	p := filepath.Join(dir, "o", fmt.Sprintf("frame-%05d.png", frame))
	var want *image.RGBA
	for deadline := time.Now().Add(30 * time.Second); want == nil; {
		if f, err := os.Open(p); err == nil {
			img, derr := png.Decode(f)
			f.Close()
			if derr == nil {
				want = image.NewRGBA(img.Bounds())
				draw.Draw(want, want.Bounds(), img, image.Point{}, draw.Src)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not saved", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b := want.Bounds(); b.Dx() != 120 || b.Dy() != 80 {
		t.Fatalf("%s is %v, want 120x80", p, b)
	}
	// The paused window shows that frame: the screen's corner equals it.
	for deadline := time.Now().Add(30 * time.Second); ; {
		shot, err := srv.Screenshot()
		if err != nil {
			t.Fatal(err)
		}
		bad, first := diffCorner(shot, want.Pix, 120, 80)
		if bad == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("frame %d: %d of %d screen pixels differ from its PNG; first %s", frame, bad, 120*80, first)
		}
		time.Sleep(100 * time.Millisecond)
	}
	send("q")
	expect("closed after frame")
	for l := range lines {
		seen = append(seen, l)
	}
	if err := cmd.Wait(); err != nil || stderr.Len() != 0 {
		t.Fatalf("exit: %v; output %q; stderr:\n%s", err, seen, stderr.String())
	}
}
