package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vkio/vkio/io"
)

// watchDebounce is how long the shader file must stay quiet after a change
// before it is recompiled: editors often write a file in several steps
// (truncate and write, or write a temporary file and rename it).
const watchDebounce = 150 * time.Millisecond

// watch runs the shader, then again on every save, until the Io is canceled
// (Ctrl-C), which ends it with a nil error. A shader that no longer compiles
// prints the compiler's messages and keeps the last good pipeline; any error of
// a run is printed and the watch goes on. Validation messages are printed as
// they are found and make the command fail at the end.
func (a *app) watch(p *runPlan) error {
	x, err := a.Io()
	if err != nil {
		return err
	}
	if err := checkOutputs(x, p); err != nil {
		return err
	}
	d, err := a.Device()
	if err != nil {
		return err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("--watch: %w", err)
	}
	defer w.Close()
	abs, err := filepath.Abs(p.shader)
	if err != nil {
		return fmt.Errorf("--watch: %w", err)
	}
	// Watch the folder, not the file: editors that save by renaming a new
	// file over the old one would otherwise end the watch.
	if err := w.Add(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("--watch %s: %w", filepath.Dir(abs), err)
	}
	var (
		good       *program
		runs       int
		validation error
	)
	if err := checkWatched(x, p.shader); err != nil {
		return usageErrorf("%v", err)
	}
	attempt := func(reason string) {
		runs++
		fmt.Fprintf(a.stdout, "=== run %d: %s at %s\n", runs, reason, time.Now().Format("15:04:05"))
		err := checkWatched(x, p.shader)
		var prog *program
		if err == nil {
			prog, err = loadShader(x, p)
		}
		if err != nil {
			if x.Canceled() {
				return
			}
			a.printErr(err)
			if good != nil {
				a.stderrf("vkdemo: keeping the last good pipeline (loaded %s); waiting for the next save\n", good.loadedAt.Format("15:04:05"))
			}
			return
		}
		good = prog
		err = a.execute(x, d, p, prog)
		if x.Canceled() {
			return
		}
		var ve *validationError
		if errors.As(err, &ve) && validation == nil {
			validation = err
		}
		if err != nil {
			a.printErr(err)
		}
		if err := a.gate.take(); err != nil {
			validation = err
			a.printErr(err)
		}
	}
	attempt("start")
	fmt.Fprintf(a.stdout, "watching %s for changes (Ctrl-C to stop)\n", p.shader)
	var timer *time.Timer
	var fire <-chan time.Time
	done := x.Context().Done()
	for {
		select {
		case <-done:
			if timer != nil {
				timer.Stop()
			}
			fmt.Fprintln(a.stdout, "stopped")
			return validation
		case ev, ok := <-w.Events:
			if !ok {
				return validation
			}
			if filepath.Clean(ev.Name) != abs || !ev.Has(fsnotify.Write|fsnotify.Create|fsnotify.Rename) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(watchDebounce)
			} else {
				timer.Reset(watchDebounce)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			attempt(filepath.Base(p.shader) + " changed")
			if errors.Is(x.Context().Err(), context.Canceled) {
				fmt.Fprintln(a.stdout, "stopped")
				return validation
			}
		case err, ok := <-w.Errors:
			if ok && err != nil {
				return fmt.Errorf("--watch: %w", err)
			}
		}
	}
}

// checkWatched refuses a shader path that is not a regular file: opening a
// FIFO for reading waits for a writer (the watch would hang there, deaf to
// Ctrl-C), and a device such as /dev/zero never ends. A stat does not open
// the file, so the check itself cannot hang. The shader is then opened by
// path again; a file swapped for a FIFO in between is the one case left, and
// the bounded reads of run's inputs cover it.
func checkWatched(x io.Io, path string) error {
	fi, err := io.Cwd().Stat(x, path)
	if err != nil {
		return fmt.Errorf("--watch %s: %w", path, err)
	}
	if !fi.Mode.IsRegular() {
		return fmt.Errorf("--watch %s: not a regular file (%s): the shader must be a file", path, watchedKind(fi))
	}
	return nil
}

// watchedKind names the type of a file that is not a regular one.
func watchedKind(fi io.FileInfo) string {
	switch m := fi.Mode; {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "type " + fi.Mode.Type().String()
}

// printErr prints an error the way main does, without ending the command.
func (a *app) printErr(err error) {
	fmt.Fprintf(a.stderr, "vkdemo: %s\n", errorText(err))
}
