//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunGlslcInterrupt: Ctrl-C (SIGINT) while glslc compiles (a fake,
// slow one first in PATH) ends vkdemo promptly with status 130, and glslc
// with it: SIGTERM, or SIGKILL after the grace period for one that
// ignores SIGTERM. No glslc process is left behind.
func TestRunGlslcInterrupt(t *testing.T) {
	for _, c := range []struct{ name, script string }{
		{"term", "exec sleep 60"},
		{"ignores term", "trap '' TERM; exec sleep 60"}, // ignored stays ignored across exec
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			pidFile := filepath.Join(dir, "glslc.pid")
			fake := "#!/bin/sh\n" + c.script[:strings.LastIndex(c.script, "exec")] +
				"echo $$ > '" + pidFile + ".tmp' && mv '" + pidFile + ".tmp' '" + pidFile + "'\n" +
				c.script[strings.LastIndex(c.script, "exec"):] + "\n"
			if err := os.WriteFile(filepath.Join(bin, "glslc"), []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "slow.comp"), []byte("#version 450\nvoid main() {}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(vkdemoBin, "run", "slow.comp")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
			defer timer.Stop()
			var pid int
			for waited := time.Duration(0); ; waited += 10 * time.Millisecond {
				if b, err := os.ReadFile(pidFile); err == nil {
					if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
						t.Fatalf("pid file %q: %v", b, err)
					}
					break
				}
				if waited > time.Minute {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the fake glslc did not start within a minute; vkdemo said:\n%s", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			sent := time.Now()
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			took := time.Since(sent)
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != 130 || strings.TrimSpace(stderr.String()) != "vkdemo: interrupted" {
				t.Fatalf("exit %d, output %q; want 130 and one line", code, stderr.String())
			}
			// The fake glslc sleeps 60 s: ended well before, it was stopped.
			if took > 30*time.Second {
				t.Errorf("took %v to stop", took)
			}
			// vkdemo reaped its child before it exited: no such process now.
			if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
				t.Errorf("the fake glslc (pid %d) is still there after vkdemo exited: kill(0) = %v", pid, err)
			}
		})
	}
}
