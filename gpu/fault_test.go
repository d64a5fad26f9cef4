package gpu

import (
	"errors"
	"testing"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
)

func TestInjectFault(t *testing.T) {
	x := io.NewBlocking().Io()
	t.Run("out-of-memory", func(t *testing.T) {
		d, _ := open(t, Options{})
		b := d.NewBatch()
		defer b.Close()
		check(t, d.InjectFault(FaultOutOfMemory, 1))
		_, err := d.Run(x, b)
		check(t, err) // the one before the fault
		if _, err := d.Run(x, b); !errors.Is(err, ErrOutOfMemory) {
			t.Fatalf("armed submission: %v, want ErrOutOfMemory", err)
		}
		_, err = d.Run(x, b) // struck once: usable again
		check(t, err)
		check(t, d.Lost())
	})
	t.Run("device-lost", func(t *testing.T) {
		d, _ := open(t, Options{})
		b := d.NewBatch()
		defer b.Close()
		check(t, d.InjectFault(FaultDeviceLost, 0))
		if _, err := d.Run(x, b); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("armed submission: %v, want ErrDeviceLost", err)
		}
		if err := d.Lost(); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("Lost() = %v after the fault", err)
		}
		if _, err := d.Run(x, b); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("submission after the loss: %v", err)
		}
		if _, err := d.NewBuffer(16, HostVisible); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("allocation after the loss: %v", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		d, _ := open(t, Options{})
		if err := d.InjectFault(Fault(99), 0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown fault: %v", err)
		}
		if err := d.InjectFault(FaultDeviceLost, -1); !errors.Is(err, ErrInvalid) {
			t.Fatalf("negative count: %v", err)
		}
	})
}

// TestCloseAfterLoss: a batch and a buffer whose submission was running when
// the device was lost close with ErrDeviceLost at once (a lost device's work
// may never complete, so ErrBusy would never end); Device.Close releases them.
func TestCloseAfterLoss(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		d, _ := open(t, Options{})
		_, c, b := tiny(t, x, d)
		d.vd.InjectFault(vkx.FaultWait, vkx.ErrorDeviceLost, 1)
		if _, err := d.Run(x, b); !errors.Is(err, ErrDeviceLost) {
			t.Fatalf("wait: %v, want ErrDeviceLost", err)
		}
		for name, closeFn := range map[string]func() error{"batch": b.Close, "buffer": c.Close} {
			err := closeFn()
			if errors.Is(err, ErrBusy) || !errors.Is(err, ErrDeviceLost) {
				t.Fatalf("%s Close after the loss: %v, want ErrDeviceLost", name, err)
			}
		}
		check(t, d.Close())
		check(t, b.Close()) // released by Device.Close: a second Close is nil
		check(t, c.Close())
	})
}
