package io_test

import (
	"errors"
	"testing"

	"github.com/vkio/vkio/io"
)

// Failing and the zero Io fail every networking operation, with their error.
func TestNetExtFailing(t *testing.T) {
	for _, c := range []struct {
		x    io.Io
		want error
	}{{io.Failing(), io.ErrUnsupported}, {io.Io{}, io.ErrZeroIo}} {
		x := c.x
		ops := map[string]func() error{
			"ListenConfig.Listen": func() error {
				_, err := io.ListenConfig{ReusePort: true}.Listen(x, "tcp", "127.0.0.1:0")
				return err
			},
			"ListenPacket": func() error { _, err := io.ListenPacket(x, "udp", "127.0.0.1:0"); return err },
			"DialPacket":   func() error { _, err := io.DialPacket(x, "udp", "127.0.0.1:9"); return err },
			"DialTimeout":  func() error { _, err := io.DialTimeout(x, "tcp", "127.0.0.1:9", 1e9); return err },
			"LookupHost":   func() error { _, err := io.LookupHost(x, "localhost"); return err },
			"LookupIP":     func() error { _, err := io.LookupIP(x, "ip", "localhost"); return err },
		}
		for name, op := range ops {
			err := op()
			var e *io.Error
			if !errors.Is(err, c.want) || !errors.As(err, &e) {
				t.Errorf("%s on %v = %v, want an *io.Error wrapping %v", name, x, err, c.want)
			}
		}
	}
}

func TestShutdownHowString(t *testing.T) {
	for h, want := range map[io.ShutdownHow]string{io.ShutdownRead: "read", io.ShutdownWrite: "write", io.ShutdownBoth: "both", 0: "ShutdownHow(0)"} {
		if got := h.String(); got != want {
			t.Errorf("ShutdownHow(%d).String() = %q, want %q", int(h), got, want)
		}
	}
}
