package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestDeviceOptionsMapping: package gpu reads no environment, so the CLI
// maps --device, VKIO_DEVICE and VKIO_VALIDATION into gpu.Options itself:
// --device wins over VKIO_DEVICE, VKIO_VALIDATION=1 turns the layer on (and
// only "1"), and validation messages go to the command's gate.
func TestDeviceOptionsMapping(t *testing.T) {
	t.Setenv("VKIO_DEVICE", "42")
	t.Setenv("VKIO_VALIDATION", "1")
	a := &app{ctx: context.Background()}
	opts := a.gpuOptions()
	if opts.Device != "42" || !opts.Validation || opts.AppName != "vkdemo" || opts.OnMessage == nil {
		t.Fatalf("with VKIO_DEVICE=42 VKIO_VALIDATION=1: %+v", opts)
	}
	a.deviceSpec = "0"
	if opts := a.gpuOptions(); opts.Device != "0" {
		t.Fatalf("--device 0 with VKIO_DEVICE=42: device %q", opts.Device)
	}
	t.Setenv("VKIO_VALIDATION", "true")
	a.deviceSpec = ""
	t.Setenv("VKIO_DEVICE", "")
	if opts := a.gpuOptions(); opts.Device != "" || opts.Validation {
		t.Fatalf("with VKIO_DEVICE= VKIO_VALIDATION=true: %+v", opts)
	}
	// VKIO_DEVICE naming no device is a usage error that quotes it.
	t.Setenv("VKIO_DEVICE", "no-such-gpu")
	t.Setenv("VKIO_VALIDATION", "1")
	b := &app{ctx: context.Background()}
	_, err := b.Device()
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `VKIO_DEVICE="no-such-gpu"`) {
		t.Fatalf("VKIO_DEVICE=no-such-gpu: %v (%T), want a usage error naming VKIO_DEVICE", err, err)
	}
	t.Logf("VKIO_DEVICE=no-such-gpu: %v", err)
}
