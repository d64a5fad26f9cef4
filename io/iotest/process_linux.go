package iotest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	stdio "io"

	"golang.org/x/sys/unix"

	"github.com/vkio/vkio/io"
)

var _ = func() bool {
	tc := testCase{"TerminalReadCanceled", testTerminalReadCanceled}
	processes = append(processes, tc)
	suite = append(suite, tc)
	return true
}()

// A task reading a terminal (the far side of a pseudo-terminal) with no
// input is canceled promptly; the terminal then reads the next line.
func testTerminalReadCanceled(t *testing.T, x io.Io) {
	m, err := io.Cwd().OpenFile(x, "/dev/ptmx", io.ReadWrite)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer m.Close(x)
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := io.Cwd().OpenFile(x, fmt.Sprintf("/dev/pts/%d", n), io.ReadWrite)
	if err != nil {
		t.Skipf("open the terminal: %v", err)
	}
	defer s.Close(x)
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	start := time.Now()
	k, err := s.Read(y, make([]byte, 16))
	if k != 0 || errors.Is(err, stdio.EOF) {
		t.Fatalf("Read of a terminal with no input = %d, %v; want the cancel error", k, err)
	}
	isCanceled(t, err)
	if time.Since(start) > within {
		t.Fatal("terminal read not interrupted promptly")
	}
	if _, err := m.Write(x, []byte("typed\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if k, err := s.Read(x, buf); err != nil || string(buf[:k]) != "typed\n" {
		t.Fatalf("Read after a canceled Read = %q, %v", buf[:k], err)
	}
}
