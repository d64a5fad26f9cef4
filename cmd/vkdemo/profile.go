package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"

	"github.com/spf13/pflag"
)

// profiles are the Go-native profiles the global flags --cpuprofile,
// --memprofile and --exectrace ask for. start begins them before the
// command runs; finish ends them when it returns, however it ends (an
// error, Ctrl-C), writing each file atomically: into a temporary file
// beside it, renamed into place once complete, so that a reader never sees
// half a profile.
//
// The CPU profile's samples carry the pprof labels of package tasks
// (stage, frame, task): `go tool pprof -tagfocus stage=encode FILE`.
type profiles struct {
	cpu, mem, exec string // the flags' values, "" for off

	mu       sync.Mutex
	started  bool
	finished bool
	cpuTmp   *os.File
	execTmp  *os.File
}

// addFlags registers the flags on fs (the root's persistent flags).
func (p *profiles) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.cpu, "cpuprofile", "", "write a Go CPU profile to `FILE` (pprof format; samples labelled stage=, frame=, task=)")
	fs.StringVar(&p.mem, "memprofile", "", "write a Go memory (allocations) profile to `FILE` at exit")
	fs.StringVar(&p.exec, "exectrace", "", "write a Go execution trace (runtime/trace) to `FILE` (go tool trace FILE)")
}

// tempBeside creates a temporary file in path's folder.
func tempBeside(path string) (*os.File, error) {
	return os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
}

// commit closes tmp and renames it to path, or removes it on error.
func commit(tmp *os.File, path string, werr error) error {
	if err := tmp.Sync(); err != nil && werr == nil {
		werr = err
	}
	if err := tmp.Close(); err != nil && werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644) // CreateTemp made it 0600
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	return nil
}

// start begins the CPU profile and the execution trace. A file that cannot
// be created is an error; nothing is left started then.
func (p *profiles) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return nil
	}
	p.started = true
	if p.cpu != "" {
		f, err := tempBeside(p.cpu)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			os.Remove(f.Name())
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		p.cpuTmp = f
	}
	if p.exec != "" {
		f, err := tempBeside(p.exec)
		if err == nil {
			if err = trace.Start(f); err != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
		if err != nil {
			p.stopLocked() // the CPU profile, if it started
			return fmt.Errorf("--exectrace: %w", err)
		}
		p.execTmp = f
	}
	return nil
}

// finish stops what start began and writes every file; it runs once, later
// calls return nil. The memory profile is written only if the command
// started (its flags parsed).
func (p *profiles) finish() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopLocked()
}

func (p *profiles) stopLocked() error {
	if !p.started || p.finished {
		return nil
	}
	p.finished = true
	var errs []error
	if p.cpuTmp != nil {
		pprof.StopCPUProfile()
		errs = append(errs, commit(p.cpuTmp, p.cpu, nil))
		p.cpuTmp = nil
	}
	if p.execTmp != nil {
		trace.Stop()
		errs = append(errs, commit(p.execTmp, p.exec, nil))
		p.execTmp = nil
	}
	if p.mem != "" {
		f, err := tempBeside(p.mem)
		if err != nil {
			errs = append(errs, fmt.Errorf("--memprofile: %w", err))
		} else {
			runtime.GC() // up-to-date statistics of live memory
			errs = append(errs, commit(f, p.mem, pprof.Lookup("allocs").WriteTo(f, 0)))
		}
	}
	return errors.Join(errs...)
}

// activeProfiles is the profiles of the command running in this process, for
// main to finish when a second Ctrl-C ends the process at once.
var activeProfiles struct {
	sync.Mutex
	p *profiles
}

func setActiveProfiles(p *profiles) {
	activeProfiles.Lock()
	activeProfiles.p = p
	activeProfiles.Unlock()
}

// finishActiveProfiles writes the running command's profiles, if any.
func finishActiveProfiles() {
	activeProfiles.Lock()
	p := activeProfiles.p
	activeProfiles.Unlock()
	if p != nil {
		_ = p.finish()
	}
}
