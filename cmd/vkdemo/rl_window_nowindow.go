//go:build nowindow

package main

import (
	"errors"

	"github.com/vkio/vkio/io"
)

// rlRenderWindow: built with -tags nowindow, vkdemo has no windows (see
// window_nowindow.go).
func rlRenderWindow(a *app, x io.Io, c rlRenderConfig, pol *rlPolicy, dir *io.Dir) error {
	return errors.New("rl render --window: this vkdemo was built with -tags nowindow; rebuild without it (needs the X11 development headers: scripts/deps.sh), or save PNGs with --out")
}
