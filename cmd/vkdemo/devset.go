package main

// --devices: the commands that spread work over several devices (pipeline,
// serve) open a gpu/devset.Set here.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/devset"
)

// devicesFlag is --devices (and the hidden --inject-fault drill) of a
// command that can spread its work over a device set.
type devicesFlag struct {
	spec     string
	perQueue bool
	fault    string
	cmd      *cobra.Command
	// reconfig, if set, redoes the command's configuration for a set of
	// members devices (the pipeline's per-device defaults).
	reconfig func(members int) (demoConfig, error)
}

// devicesHelp is --devices' help text.
const devicesHelp = `spread the work over several devices: a comma-separated list of device indices or name substrings ("0,1"; an entry repeated opens another logical device on the same device: "0,0" is two on device 0), or "all" (every GPU; lavapipe only where there is none). Default: one device, --device / VKIO_DEVICE`

func (f *devicesFlag) add(cmd *cobra.Command) {
	f.cmd = cmd
	fs := cmd.Flags()
	fs.StringVar(&f.spec, "devices", "", devicesHelp)
	fs.BoolVar(&f.perQueue, "per-queue", false, "with --devices: one device per compute queue of each (a GPU with several compute queues then runs several submissions side by side)")
	// --inject-fault MEMBER:KIND:AFTER is a drill, hidden from the help:
	// member MEMBER of the set fails with KIND (device-lost or
	// out-of-memory) at its submission after AFTER ones (see
	// gpu.Device.InjectFault), so that the take-out and the retry of its
	// work elsewhere can be watched (and are tested). Needs --devices.
	fs.StringVar(&f.fault, "inject-fault", "", "MEMBER:KIND:AFTER fault drill (device-lost or out-of-memory)")
	_ = fs.MarkHidden("inject-fault")
}

// given reports whether --devices was on the command line.
func (f *devicesFlag) given() bool {
	return f != nil && f.cmd != nil && flagChanged(f.cmd.Flags(), "devices")
}

// alone is the usage error of --per-queue or --inject-fault without
// --devices, or nil.
func (f *devicesFlag) alone() error {
	switch {
	case f == nil, f.given():
	case f.perQueue:
		return usageErrorf("--per-queue needs --devices")
	case f.fault != "":
		return usageErrorf("--inject-fault needs --devices")
	}
	return nil
}

// faultSpec is a parsed --inject-fault.
type faultSpec struct {
	member int
	kind   gpu.Fault
	after  int
}

// maxFaultAfter caps --inject-fault's submission count.
const maxFaultAfter = 1 << 30

// parseFaultSpec parses --inject-fault MEMBER:KIND:AFTER.
func parseFaultSpec(s string) (faultSpec, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return faultSpec{}, errors.New("want MEMBER:KIND:AFTER, e.g. 1:device-lost:3")
	}
	var f faultSpec
	var err error
	if f.member, err = strconv.Atoi(parts[0]); err != nil || f.member < 0 || f.member >= devset.MaxMembers {
		return faultSpec{}, fmt.Errorf("member %q: want 0 to %d", parts[0], devset.MaxMembers-1)
	}
	switch parts[1] {
	case "device-lost":
		f.kind = gpu.FaultDeviceLost
	case "out-of-memory":
		f.kind = gpu.FaultOutOfMemory
	default:
		return faultSpec{}, fmt.Errorf("kind %q: want device-lost or out-of-memory", parts[1])
	}
	if f.after, err = strconv.Atoi(parts[2]); err != nil || f.after < 0 || f.after > maxFaultAfter {
		return faultSpec{}, fmt.Errorf("after %q: want 0 to %d submissions", parts[2], maxFaultAfter)
	}
	return f, nil
}

// openSet opens the device set --devices names, with the gpu options of
// --device's path (validation from VKIO_VALIDATION, messages to the gate),
// arms --inject-fault, and logs each member taken out to stderr. Bad
// values are usage errors.
func (a *app) openSet(f *devicesFlag) (*devset.Set, error) {
	specs, err := devset.ParseDevices(f.spec)
	if err != nil {
		return nil, usageErrorf("--devices %q: %v", f.spec, err)
	}
	var fault faultSpec
	if f.fault != "" {
		if fault, err = parseFaultSpec(f.fault); err != nil {
			return nil, usageErrorf("--inject-fault %q: %v", f.fault, err)
		}
	}
	base := a.gpuOptions()
	base.Device = ""
	s, err := devset.Open(devset.Options{Base: base, Devices: specs, PerQueue: f.perQueue, Logger: a.setLogger()})
	if err != nil {
		if errors.Is(err, gpu.ErrNoDevice) && len(specs) > 0 {
			return nil, usageErrorf("--devices %q: %v; see 'vkdemo devices'", f.spec, err)
		}
		return nil, err
	}
	if f.fault != "" {
		if fault.member >= s.Len() {
			s.Close()
			return nil, usageErrorf("--inject-fault %q: the set has %d members", f.fault, s.Len())
		}
		if err := s.Members()[fault.member].Device().InjectFault(fault.kind, fault.after); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// setLogger writes the set's take-outs to stderr, one line each, without
// a time stamp.
func (a *app) setLogger() *slog.Logger {
	h := slog.NewTextHandler(a.stderr, &slog.HandlerOptions{ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
		if len(groups) == 0 && at.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return at
	}})
	return slog.New(prefixHandler{h})
}

// prefixHandler marks vkdemo's log lines as its own.
type prefixHandler struct{ slog.Handler }

func (h prefixHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Message = "vkdemo: " + r.Message
	return h.Handler.Handle(ctx, r)
}

// setNames lists the members for a report: "2 devices (#0 llvmpipe ..., #0 llvmpipe ...)".
func setNames(s *devset.Set) string {
	var names []string
	for _, m := range s.Members() {
		names = append(names, m.Info().Name)
	}
	return fmt.Sprintf("%d devices (%s)", s.Len(), strings.Join(names, ", "))
}
